// Issue 19, attack 4 — session squatting: the funding remark `ps1:fund:<sessionId>` is public. An attacker reads it
// from the chain and joins first with that session id, with its own key and delegation, unfunded or funding the
// same session id from its own wallet. It is refused, and the real viewer is then admitted and served as if nothing
// happened (no "exists with another wallet"). Real clients on the real stack (dev chain, mediasoup, PGlite).
import type { KeyringPair } from '@polkadot/keyring/types';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LiveStream, PaidSession } from '../support/liveStream.ts';
import { PayingViewer } from '../support/liveStream.ts';
import { call, callOk, type RtcViewer, registerJoinKey, startRtcViewer } from '../viewers-support.ts';
import { framesWithoutAdmission, freshWallet, liveStreamOf, NO_SETTLEMENT_ENV, sessionWith } from './viewerAttacks.ts';

const PRICE = 1_000_000n;

describe('session squatting: a session id read from the chain is useless to anyone else', () => {
  let live: LiveStream;
  let streamId: string;
  const peers: RtcViewer[] = [];

  /** The session ids funded in `blockHash`, as anyone reading the chain finds them (the funding's remark). */
  const fundedSessionIdsIn = async (blockHash: string): Promise<string[]> => {
    const { block } = await live.client.api.rpc.chain.getBlock(blockHash);
    const text = JSON.stringify(block.extrinsics.map((x) => x.method.toHuman()));
    return [...text.matchAll(/ps1:fund:([A-Za-z0-9_-]+)/g)].map((m) => m[1] as string);
  };

  /** A victim wallet and its funded session; the attacker learns the session id from the chain only. */
  const victimFunds = async (): Promise<{ wallet: KeyringPair; session: PaidSession; seenId: string }> => {
    const wallet = await freshWallet(live, live.wallets.bob);
    const session = sessionWith(live, wallet, streamId);
    await live.fund(wallet, session);
    const seen = await fundedSessionIdsIn(session.payload.fundedIn as string);
    expect(seen).toContain(session.sessionId);
    return { wallet, session, seenId: session.sessionId };
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

  it('an unfunded attacker joining first with the seen session id is refused SESSION_NOT_FUNDED; the viewer is admitted', async () => {
    const victim = await victimFunds();
    const attacker = await freshWallet(live);
    const socket = await live.open(attacker);
    const squat = sessionWith(live, attacker, streamId, { sessionId: victim.seenId, budget: victim.session.budget });
    expect(await call(socket, 'viewer:join', { streamId, mode: 'webrtc', session: squat.payload })).toMatchObject({
      ok: false,
      code: 'SESSION_NOT_FUNDED',
    });
    // Naming the victim's funding block: that funding is another wallet's, to another account.
    const named = { ...squat.payload, fundedIn: victim.session.payload.fundedIn };
    registerJoinKey(named, squat.key, live.client.facts.genesisHash);
    expect(await call(socket, 'viewer:join', { streamId, mode: 'hls', session: named })).toMatchObject({
      ok: false,
      code: 'SESSION_NOT_FUNDED',
    });
    // Bound: 0 frames for the attacker.
    expect(await framesWithoutAdmission(socket, streamId)).toBe(0);
    await admittedNormally(victim.wallet, victim.session);
  });

  it('an attacker that funds the seen session id from its own wallet and joins first is refused; the viewer is admitted', async () => {
    const victim = await victimFunds();
    const attacker = await freshWallet(live, live.wallets.charlie);
    const socket = await live.open(attacker);
    const squat = sessionWith(live, attacker, streamId, { sessionId: victim.seenId });
    // A second `ps1:fund:<sessionId>` on chain, later than the victim's, by the attacker to its own session account.
    await live.fund(attacker, squat);
    // The node has recorded the victim's funding as well (its follower or the victim's block read on a join).
    await vi.waitFor(
      async () => {
        const fundings = await live.ledger().fundingsOf(victim.seenId);
        expect(fundings.map((f) => f.blockHash)).toEqual([victim.session.payload.fundedIn, squat.payload.fundedIn]);
      },
      { timeout: 30_000, interval: 200 },
    );
    for (const mode of ['webrtc', 'hls'] as const) {
      const res = await call(socket, 'viewer:join', { streamId, mode, session: squat.payload });
      expect(res).toMatchObject({ ok: false, code: 'SESSION_NOT_FUNDED' });
    }
    expect(await framesWithoutAdmission(socket, streamId)).toBe(0);
    expect(live.viewers().viewer(victim.seenId)).toBeUndefined();
    await admittedNormally(victim.wallet, victim.session);
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
    // The live session of that id on this node is another wallet's: refused before its funding is even read.
    expect(await call(attackerSocket, 'viewer:join', { streamId, mode: 'hls', session: squat.payload })).toMatchObject({
      ok: false,
      code: 'BAD_REQUEST',
    });
    // The victim's session is untouched: still attached to its socket.
    expect(live.viewers().viewer(victim.seenId)).toMatchObject({ connected: true });
    await callOk(socket, 'viewer:leave', {});
  });
});
