// Issue 19, attack 4 — session squatting: the funding remark `ps1:fund:<sessionId>` is public, on chain and, before
// that, in the pending transaction. A session id is derived from its session key (`sessionIdOf`), so an attacker
// joining with a seen session id and a key of its own is refused SESSION_ID_INVALID, funded or not; and one that
// front-runs the viewer's funding with fundings of the same session id (to its own account, or to the viewer's)
// keeps nobody out: the viewer is admitted and served as if nothing happened. Real clients on the real stack (dev
// chain, mediasoup, PGlite).
import { buildFunding } from '@persecond/contracts-client';
import type { KeyringPair } from '@polkadot/keyring/types';
import { u8aEq } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LiveStream, PaidSession } from '../support/liveStream.ts';
import { PayingViewer } from '../support/liveStream.ts';
import { call, callOk, type RtcViewer, registerJoinKey, startRtcViewer } from '../viewers-support.ts';
import { framesWithoutAdmission, freshWallet, liveStreamOf, NO_SETTLEMENT_ENV, sessionWith } from './viewerAttacks.ts';

const PRICE = 1_000_000n;

/** What anyone reading fundings (a pending transaction's call, or a block's extrinsics) learns of them. */
function fundingsSeenIn(calls: { toHuman(): unknown }[]): { sessionIds: string[]; accounts: string[] } {
  const text = JSON.stringify(calls.map((c) => c.toHuman()));
  return {
    sessionIds: [...text.matchAll(/ps1:fund:([A-Za-z0-9_-]+)/g)].map((m) => m[1] as string),
    accounts: [...text.matchAll(/"Id":"([1-9A-HJ-NP-Za-km-z]+)"/g)].map((m) => m[1] as string),
  };
}

describe('session squatting: a session id seen on chain or in the pool is useless to anyone without its key', () => {
  let live: LiveStream;
  let streamId: string;
  const peers: RtcViewer[] = [];

  /** A victim wallet and its funded session; the attacker learns the session id from the chain only. */
  const victimFunds = async (): Promise<{ wallet: KeyringPair; session: PaidSession; seenId: string }> => {
    const wallet = await freshWallet(live, live.wallets.bob);
    const session = sessionWith(live, wallet, streamId);
    await live.fund(wallet, session);
    const { block } = await live.client.api.rpc.chain.getBlock(session.payload.fundedIn as string);
    const seen = fundingsSeenIn(block.extrinsics.map((x) => x.method));
    expect(seen.sessionIds).toContain(session.sessionId);
    return { wallet, session, seenId: session.sessionId };
  };

  /** Joins of `session` on `socket` over WebRTC and HLS, each refused SESSION_ID_INVALID. */
  const refusedIdInvalid = async (socket: Socket, session: object): Promise<void> => {
    for (const mode of ['webrtc', 'hls'] as const) {
      expect(await call(socket, 'viewer:join', { streamId, mode, session })).toMatchObject({
        ok: false,
        code: 'SESSION_ID_INVALID',
      });
    }
  };

  /** The real viewer joins over WebRTC after the attack: admitted as a new session, ticked, paying, never held. */
  const admittedNormally = async (wallet: KeyringPair, session: PaidSession): Promise<void> => {
    const socket = await live.open(wallet);
    const viewer = new PayingViewer(socket, live.client.facts.genesisHash, streamId, session);
    const admission = await call(socket, 'viewer:join', { streamId, mode: 'webrtc', session: session.payload });
    expect(admission).toMatchObject({ ok: true, mode: 'webrtc', session: { resumed: false, owed: '0' } });
    const rtc = await startRtcViewer(socket, streamId, { follow: true });
    peers.push(rtc);
    await vi.waitFor(() => expect(viewer.lastTick?.seq ?? 0).toBeGreaterThanOrEqual(3), {
      timeout: 60_000,
      interval: 100,
    });
    expect(rtc.frames).toBeGreaterThan(0);
    expect(viewer.saw('media:paused')).toBe(0);
    const left = await callOk(socket, 'viewer:leave', {});
    expect(BigInt(left.owed as string)).toBe(BigInt(viewer.lastTick?.seq ?? 0) * PRICE);
    rtc.close();
  };

  beforeAll(async () => {
    ({ live, streamId } = await liveStreamOf('Squatting', PRICE, {
      viewersEnv: NO_SETTLEMENT_ENV,
    }));
  });

  afterAll(async () => {
    for (const p of peers) p.close();
    await live?.close();
  });

  it('an attacker joining with the seen session id and a key of its own is refused SESSION_ID_INVALID, funded or not; the viewer is admitted', async () => {
    const victim = await victimFunds();
    const attacker = await freshWallet(live, live.wallets.charlie);
    const socket = await live.open(attacker);
    const squat = sessionWith(live, attacker, streamId, { sessionId: victim.seenId, budget: victim.session.budget });
    // Unfunded.
    await refusedIdInvalid(socket, squat.payload);
    // Naming the victim's funding block.
    const named = { ...squat.payload, fundedIn: victim.session.payload.fundedIn };
    registerJoinKey(named, squat.key, live.client.facts.genesisHash);
    await refusedIdInvalid(socket, named);
    // Funded: a second `ps1:fund:<sessionId>` on chain, by the attacker to its own session account.
    await live.fund(attacker, squat);
    await refusedIdInvalid(socket, squat.payload);
    // Bound: 0 frames for the attacker.
    expect(await framesWithoutAdmission(socket, streamId)).toBe(0);
    expect(live.viewers().viewer(victim.seenId)).toBeUndefined();
    await admittedNormally(victim.wallet, victim.session);
  });

  it("an attacker that front-runs the viewer's funding with its session id, to its own account and to the viewer's, keeps nobody out", async () => {
    const wallet = await freshWallet(live, live.wallets.bob);
    const session = sessionWith(live, wallet, streamId);
    // The viewer's funding, sent and not yet in a block: what a front-runner watching the pool sees.
    const pending = buildFunding(live.client, {
      sessionId: session.sessionId,
      sessionAccount: session.key.address,
      asset: 'native',
      budget: session.budget,
    });
    const seen = fundingsSeenIn([pending.method]);
    const seenId = seen.sessionIds[0] as string;
    const seenAccount = seen.accounts[0] as string;
    expect(seenId).toBe(session.sessionId);
    expect(u8aEq(decodeAddress(seenAccount), session.key.publicKey)).toBe(true);

    // The attacker's fundings of that session id land first, for the cost of the smallest transfers the chain takes.
    const attacker = await freshWallet(live, live.wallets.dave);
    const tiny = live.client.facts.existentialDeposit;
    const toOwn = sessionWith(live, attacker, streamId, { sessionId: seenId });
    await live.fund(attacker, toOwn, tiny);
    const toViewer = await live.submitter.submit(
      buildFunding(live.client, { sessionId: seenId, sessionAccount: seenAccount, asset: 'native', budget: tiny }),
      attacker,
    );
    if (!toViewer.ok) throw new Error(`the attacker's funding of the viewer's account failed: ${toViewer.status}`);
    // The node has recorded both before the viewer's funding lands.
    await vi.waitFor(async () => expect(await live.ledger().fundingsOf(seenId)).toHaveLength(2), {
      timeout: 30_000,
      interval: 200,
    });

    const landed = await live.submitter.submit(pending, wallet);
    if (!landed.ok) throw new Error(`the viewer's funding failed: ${landed.status}`);
    session.payload.fundedIn = landed.blockHash;
    await admittedNormally(wallet, session);
    // In chain order the attacker's fundings came first; they counted for nothing.
    const fundings = await live.ledger().fundingsOf(seenId);
    expect(fundings.map((f) => f.blockHash)).toEqual([toOwn.payload.fundedIn, toViewer.blockHash, landed.blockHash]);
  });

  it('an attacker funding the seen session id while the viewer watches cannot take the live session over', async () => {
    // The attacker funds and joins with the seen id right after the victim joined: the live session is the victim's.
    const victim = await victimFunds();
    const socket = await live.open(victim.wallet);
    new PayingViewer(socket, live.client.facts.genesisHash, streamId, victim.session);
    await callOk(socket, 'viewer:join', { streamId, mode: 'hls', session: victim.session.payload });
    const attacker = await freshWallet(live, live.wallets.dave);
    const attackerSocket = await live.open(attacker);
    const squat = sessionWith(live, attacker, streamId, { sessionId: victim.seenId });
    await live.fund(attacker, squat);
    await refusedIdInvalid(attackerSocket, squat.payload);
    // The victim's session is untouched: still attached to its socket.
    expect(live.viewers().viewer(victim.seenId)).toMatchObject({ connected: true });
    await callOk(socket, 'viewer:leave', {});
  });
});
