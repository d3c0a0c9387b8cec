// Issue 19, attack 1 — free viewing: a client without a funded key of its own gets no media at all (0 frames); a
// funded client that never shows a valid voucher gets at most the voucher grace, is held, and cannot start over: under
// a new session id what it watched is debt, and its session account has no other session id (the id is the key's).
// Real clients (socket.io-client, wrtc) on the real stack (dev chain, mediasoup, PGlite in memory); frames counted as
// the viewer decodes them.
import { createSessionKey, type PaymentRules, type SessionKey, signJoinProof } from '@persecond/contracts-client';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitForStill } from '../../../sfu/test/helpers/wait.ts';
import type { Tick } from '../../src/index.ts';
import { MAX_ROUND_PERIOD_MS } from '../../src/payments/VoucherRounds.ts';
import { type LiveStream, type PaidSession, PayingViewer } from '../support/liveStream.ts';
import { meterRounds } from '../support/meterRounds.ts';
import { call, callOk, type RtcViewer, registerJoinKey, startRtcViewer } from '../viewers-support.ts';
import {
  EventLog,
  framesWithoutAdmission,
  freshWallet,
  garbageSignature,
  liveStreamOf,
  NO_SETTLEMENT_ENV,
  sessionWith,
} from './viewerAttacks.ts';

const PRICE = 1_000_000n;
/** Ticks a viewer may leave without a valid voucher (viewers config VOUCHER_GRACE_SECONDS, set here). */
const VOUCHER_GRACE_SECONDS = 3;
/** The test camera sends a frame every 33 ms (sfu/test/helpers/nodeWebrtc.ts startTestMedia). */
const VIDEO_FPS = 31;
/**
 * Media reaches a WebRTC viewer before its first tick: the meter samples the flow once a round and ticks the rounds
 * that saw it, so up to two rounds of frames precede tick 1 (connect between rounds, then the sampling round).
 */
const ROUNDS_BEFORE_FIRST_TICK = 2;

describe('free viewing: no funded key of its own, garbage vouchers or none', () => {
  let live: LiveStream;
  let streamId: string;
  let genesisHash: string;
  const peers: RtcViewer[] = [];

  /** A viewer of `wallet` on a new socket, joined over WebRTC with `session` (funded by the caller) and consuming. */
  const joinAndWatch = async (wallet: KeyringPair, session: PaidSession) => {
    const socket = await live.open(wallet);
    const viewer = new PayingViewer(socket, genesisHash, streamId, session);
    viewer.autoAck = false;
    const log = new EventLog(socket, ['media:paused', 'payment:required', 'tick:refused']);
    const admission = await callOk(socket, 'viewer:join', { streamId, mode: 'webrtc', session: session.payload });
    const rtc = await startRtcViewer(socket, streamId, { follow: true });
    peers.push(rtc);
    return { socket, viewer, log, rtc, rules: admission.rules as PaymentRules };
  };

  /** Waits for the first `media:paused`, then for the frames to stand still and a few more rounds without a tick. */
  const heldFor = async (
    v: Awaited<ReturnType<typeof joinAndWatch>>,
  ): Promise<{ reason: unknown; afterSeq: number; ticks: number; frames: number }> => {
    await vi.waitFor(() => expect(v.log.named('media:paused')).not.toHaveLength(0), { timeout: 60_000, interval: 50 });
    const [paused] = v.log.named('media:paused');
    const frames = await waitForStill(() => v.rtc.frames, 1_500, 30_000);
    const ticks = v.viewer.ticks.length;
    // Held: the meter has moved on and neither ticks nor frames came.
    await meterRounds(live.viewers().meter, 3);
    expect(v.viewer.ticks.length).toBe(ticks);
    expect(v.rtc.frames).toBe(frames);
    return {
      reason: (paused?.payload as { reason?: unknown } | undefined)?.reason,
      afterSeq: paused?.afterSeq ?? -1,
      ticks,
      frames,
    };
  };

  beforeAll(async () => {
    ({ live, streamId } = await liveStreamOf('Free viewing', PRICE, {
      viewersEnv: {
        // Settlements play no part here: the window is far beyond the test.
        ...NO_SETTLEMENT_ENV,
        VOUCHER_GRACE_SECONDS: String(VOUCHER_GRACE_SECONDS),
        // The default round (10 s): the first voucher must not wait for it.
        VOUCHER_VERIFY_INTERVAL_MS: '10000',
      },
    }));
    genesisHash = live.client.facts.genesisHash;
  });

  afterAll(async () => {
    for (const p of peers) p.close();
    await live?.close();
  });

  it("(a) a fresh, unfunded wallet cannot watch on someone else's funded session account: SIGNATURE_INVALID, 0 frames", async () => {
    const victimWallet = live.wallets.bob;
    const victim = live.newSession(victimWallet, streamId);
    await live.fund(victimWallet, victim);
    // The victim joins first: its proof for its own socket is what an eavesdropper could replay.
    const victimSocket = await live.open(victimWallet);
    await callOk(victimSocket, 'viewer:join', { streamId, mode: 'webrtc', session: victim.payload });
    await callOk(victimSocket, 'viewer:leave', {});

    const attacker = await freshWallet(live);
    const socket: Socket = await live.open(attacker);
    const ownKey = createSessionKey(42);
    const proofBy = (key: SessionKey, socketId: string) =>
      signJoinProof(key, { genesisHash, streamId, sessionId: victim.sessionId, socketId });
    // The victim's own proof, as an eavesdropper could replay it: it names the victim's socket, not this one.
    const replayed = proofBy(victim.key, victimSocket.id as string);

    // With the victim's delegation (as if leaked): signed by another wallet, and the attacker cannot sign the proof.
    const stolen = [
      { ...victim.payload, proof: proofBy(ownKey, socket.id as string) },
      { ...victim.payload, proof: garbageSignature() },
      { ...victim.payload, proof: replayed },
    ];
    for (const session of stolen) {
      expect(await call(socket, 'viewer:join', { streamId, mode: 'webrtc', session })).toMatchObject({
        ok: false,
        code: 'SIGNATURE_INVALID',
      });
    }

    // Its own delegation of the victim's session key, session id and budget (the account is visible on chain): the
    // delegation is valid, the join proof is not (the attacker does not hold the victim's key).
    const borrowed = sessionWith(live, attacker, streamId, { key: victim.key, sessionId: victim.sessionId });
    const withoutKey = [
      { ...borrowed.payload, proof: proofBy(ownKey, socket.id as string) },
      { ...borrowed.payload, proof: garbageSignature() },
      { ...borrowed.payload, proof: replayed },
    ];
    for (const session of withoutKey) {
      expect(await call(socket, 'viewer:join', { streamId, mode: 'webrtc', session })).toMatchObject({
        ok: false,
        code: 'SIGNATURE_INVALID',
      });
    }

    // Bound: 0 frames for a client without a funded key of its own (issue 19 "Must show").
    expect(await framesWithoutAdmission(socket, streamId)).toBe(0);
    expect(live.viewers().viewer(victim.sessionId)).toBeUndefined();
  });

  it('(b) a wallet that delegates its own key but never funds it: SESSION_NOT_FUNDED, 0 frames', async () => {
    const wallet = await freshWallet(live, live.wallets.charlie);
    const socket = await live.open(wallet);
    const unfunded = sessionWith(live, wallet, streamId);
    expect(await call(socket, 'viewer:join', { streamId, mode: 'webrtc', session: unfunded.payload })).toMatchObject({
      ok: false,
      code: 'SESSION_NOT_FUNDED',
    });
    // Naming a block that holds someone else's funding changes nothing.
    const other = live.newSession(live.wallets.dave, streamId);
    await live.fund(live.wallets.dave, other);
    const named = { ...unfunded.payload, fundedIn: other.payload.fundedIn };
    registerJoinKey(named, unfunded.key, genesisHash);
    expect(await call(socket, 'viewer:join', { streamId, mode: 'webrtc', session: named })).toMatchObject({
      ok: false,
      code: 'SESSION_NOT_FUNDED',
    });
    // Bound: 0 frames.
    expect(await framesWithoutAdmission(socket, streamId)).toBe(0);
  });

  it('(c) garbage 64-byte signatures: held at its first voucher, what it watched is debt, and its key starts no other session', async () => {
    const wallet = await freshWallet(live, live.wallets.charlie);
    const session = sessionWith(live, wallet, streamId);
    await live.fund(wallet, session);
    const v = await joinAndWatch(wallet, session);
    v.socket.on('tick', (t: Tick) =>
      v.socket.emit('tick:ack', { seq: t.seq, owed: t.owed, signature: garbageSignature() }),
    );

    const held = await heldFor(v);
    expect(held.reason).toBe('voucher-invalid');
    // Bound: the first voucher is verified at once, so no more than the voucher grace + 1 ticks (the server's seq)
    // are ever sent on a key that never signed.
    const lastSeq = v.viewer.lastTick?.seq ?? 0;
    expect(lastSeq).toBeGreaterThanOrEqual(1);
    expect(lastSeq).toBeLessThanOrEqual(VOUCHER_GRACE_SECONDS + 1);
    expect(held.ticks).toBe(lastSeq);
    // Frames: those of the metered seconds and of the rounds before the first tick, plus the round the pause lands in.
    expect(held.frames).toBeLessThanOrEqual(VIDEO_FPS * (lastSeq + ROUNDS_BEFORE_FIRST_TICK + 1));
    console.info(
      `garbage vouchers: ${lastSeq} ticks, ${held.frames} frames decoded, paused after tick ${held.afterSeq}`,
    );

    const left = await callOk(v.socket, 'viewer:leave', {});
    const owed = BigInt(lastSeq) * PRICE;
    expect(left).toMatchObject({ owed: owed.toString(), settled: '0' });
    const debts = await live.ledger().debtOf({ wallet: wallet.address, sessionAccount: session.key.address });
    expect(debts.wallet.debt).toBe(owed);
    expect(debts.sessionAccount.debt).toBe(owed);

    // A new session id of the same wallet, funded: the debt is the wallet's.
    const socket = await live.open(wallet);
    const fresh = sessionWith(live, wallet, streamId);
    await live.fund(wallet, fresh);
    expect(await call(socket, 'viewer:join', { streamId, mode: 'webrtc', session: fresh.payload })).toMatchObject({
      ok: false,
      code: 'DEBT_OUTSTANDING',
      details: { debt: owed.toString() },
    });
    // The same session account under another session id, funded: that id is not its key's.
    const sameWallet = sessionWith(live, wallet, streamId, { key: session.key, sessionId: fresh.sessionId });
    await live.fund(wallet, sameWallet);
    expect(await call(socket, 'viewer:join', { streamId, mode: 'webrtc', session: sameWallet.payload })).toMatchObject({
      ok: false,
      code: 'SESSION_ID_INVALID',
    });
    // The same session account under its own id, delegated and funded by a new wallet: that session is another wallet's.
    const otherWallet = await freshWallet(live, live.wallets.dave);
    const otherSocket = await live.open(otherWallet);
    const sameAccount = sessionWith(live, otherWallet, streamId, { key: session.key });
    expect(sameAccount.sessionId).toBe(session.sessionId);
    await live.fund(otherWallet, sameAccount);
    expect(
      await call(otherSocket, 'viewer:join', { streamId, mode: 'webrtc', session: sameAccount.payload }),
    ).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await framesWithoutAdmission(socket, streamId)).toBe(0);

    // The held session itself, rejoined on a new socket (its own debt does not bar it): its grace is not renewed —
    // over both joins, no more than VOUCHER_GRACE_SECONDS + 1 ticks without a valid voucher.
    const back = await joinAndWatch(wallet, session);
    back.socket.on('tick', (t: Tick) =>
      back.socket.emit('tick:ack', { seq: t.seq, owed: t.owed, signature: garbageSignature() }),
    );
    const heldAgain = await heldFor(back);
    expect(['voucher-invalid', 'voucher-lag']).toContain(heldAgain.reason);
    const seqAfterRejoin = back.viewer.lastTick?.seq ?? lastSeq;
    expect(seqAfterRejoin).toBeLessThanOrEqual(VOUCHER_GRACE_SECONDS + 1);
    console.info(`rejoined the held session: ${heldAgain.ticks} more ticks, ${heldAgain.frames} frames decoded`);
    await callOk(back.socket, 'viewer:leave', {});
  });

  it('(e) a valid first voucher, garbage after it: held within the verification interval the admission states', async () => {
    const wallet = await freshWallet(live, live.wallets.ferdie);
    const session = sessionWith(live, wallet, streamId);
    await live.fund(wallet, session);
    const v = await joinAndWatch(wallet, session);
    let firstGarbage = 0;
    v.socket.on('tick', (t: Tick) => {
      if (t.seq === 1) {
        v.socket.emit('tick:ack', v.viewer.voucher(t));
        return;
      }
      firstGarbage ||= t.seq;
      v.socket.emit('tick:ack', { seq: t.seq, owed: t.owed, signature: garbageSignature() });
    });
    const held = await heldFor(v);
    expect(held.reason).toBe('voucher-invalid');
    // Bound: after its first (verified at once), a session's newest voucher is checked every voucherVerifySeconds
    // (the admission's rules, 10 here) by a round that runs within MAX_ROUND_PERIOD_MS of it falling due, plus the
    // tick already on its way: ticks on garbage ≤ voucherVerifySeconds + 1 + 1.
    const garbageTicks = (v.viewer.lastTick?.seq ?? 0) - firstGarbage + 1;
    expect(v.rules.voucherVerifySeconds).toBe(10);
    expect(garbageTicks).toBeLessThanOrEqual(v.rules.voucherVerifySeconds + Math.ceil(MAX_ROUND_PERIOD_MS / 1000) + 1);
    console.info(
      `garbage after a valid first voucher: ${garbageTicks} ticks on garbage, ${held.frames} frames decoded`,
    );
    // All of it metered and owed (only the first second was signed for).
    const left = await callOk(v.socket, 'viewer:leave', {});
    expect(left).toMatchObject({ owed: (BigInt(v.viewer.lastTick?.seq ?? 0) * PRICE).toString(), settled: '0' });
  });

  it('(d) no voucher at all: held at the tick past the voucher grace', async () => {
    const wallet = await freshWallet(live, live.wallets.eve);
    const session = sessionWith(live, wallet, streamId);
    await live.fund(wallet, session);
    const v = await joinAndWatch(wallet, session);

    const held = await heldFor(v);
    expect(held.reason).toBe('voucher-lag');
    // Bound: held right after tick VOUCHER_GRACE_SECONDS + 1 (paymentLag: no verified voucher and seq > grace),
    // as the server's seq says; nothing after it.
    expect(held.afterSeq).toBe(VOUCHER_GRACE_SECONDS + 1);
    expect(v.viewer.lastTick?.seq).toBe(VOUCHER_GRACE_SECONDS + 1);
    expect(held.frames).toBeLessThanOrEqual(VIDEO_FPS * (VOUCHER_GRACE_SECONDS + 1 + ROUNDS_BEFORE_FIRST_TICK + 1));
    console.info(`no vouchers: ${held.ticks} ticks, ${held.frames} frames decoded`);
    const left = await callOk(v.socket, 'viewer:leave', {});
    expect(left).toMatchObject({ owed: (BigInt(VOUCHER_GRACE_SECONDS + 1) * PRICE).toString(), settled: '0' });
  });
});
