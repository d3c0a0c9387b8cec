import { setTimeout as sleep } from 'node:timers/promises';
import {
  buildFinalSettlement,
  buildSettlement,
  createSessionKey,
  estimateFee,
  getBalance,
  sessionKeyPair,
} from '@persecond/contracts-client';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, onTestFailed, vi } from 'vitest';
import { waitForStill } from '../../sfu/test/helpers/wait.ts';
import type { Tick } from '../src/index.ts';
import { type LiveStream, type PaidSession, PayingViewer, startLiveStream } from './support/liveStream.ts';
import { meterRounds as waitForRounds } from './support/meterRounds.ts';
import { type AckJson, call, callOk, type Publisher, type RtcViewer, startRtcViewer } from './viewers-support.ts';

const PRICE = 1_000_000n;
const MIN_PREPAY = 30;
const SETTLE_EVERY = 4;
const PAYMENT_GRACE = 2;
const VOUCHER_GRACE = 3;
/** Long enough that a rejoin on a loaded machine (sign-in, join, transports) lands well within it. */
const RECONNECT_GRACE = 30;
const JOIN_LIMIT = 12;
/** Voucher signatures are verified in rounds; short ones here so tests wait little. */
const VERIFY_MS = 200;

/** A paying viewer that also settles with the creator as it goes, as the dapp does. */
class ViewerClient extends PayingViewer {
  /** Pays the creator whenever `settleEvery` of value it signed vouchers for is unpaid (the dapp's behaviour). */
  settler: ((amount: bigint, seq: number) => Promise<void>) | undefined;
  /** Acknowledged value already submitted in settlements. */
  submitted = 0n;
  settleEvery = 0n;
  settling: Promise<void> = Promise.resolve();
  /** Enforcement events in arrival order, each with the seq of the last tick received before it. */
  readonly enforcement: { name: string; seq: number; payload: unknown }[] = [];

  constructor(...args: ConstructorParameters<typeof PayingViewer>) {
    super(...args);
    // Registered after the tick listener: the socket delivers in order, so `seq` says which tick a pause followed.
    for (const name of ['payment:required', 'media:paused', 'media:resumed', 'payment:ok']) {
      this.socket.on(name, (payload: unknown) =>
        this.enforcement.push({ name, seq: this.lastTick?.seq ?? 0, payload }),
      );
    }
  }

  /** Enforcement events named `name` that arrived after the first `mark` events of `enforcement`. */
  since(mark: number, name: string): { name: string; seq: number; payload: unknown }[] {
    return this.enforcement.slice(mark).filter((e) => e.name === name);
  }

  override onVoucherSent(t: Tick): void {
    if (!this.settler) return;
    // What the viewer signed for (the verified amount the ticks carry lags by up to a verification round).
    const acknowledged = BigInt(t.owed);
    if (acknowledged - this.submitted < this.settleEvery) return;
    const amount = acknowledged - this.submitted;
    this.submitted = acknowledged;
    const settler = this.settler;
    this.settling = this.settling.then(() => settler(amount, t.seq));
  }
}

describe('viewers module: admission, ticks, vouchers, enforcement', () => {
  let live: LiveStream;
  let alice: KeyringPair;
  let bob: KeyringPair;
  let charlie: KeyringPair;
  let streamId: string;
  let publisher: Publisher;
  const rtcViewers: RtcViewer[] = [];

  const open = (pair: KeyringPair): Promise<Socket> => live.open(pair);
  const createStream = (): Promise<string> => live.announceStream(alice, 'Viewer flow', PRICE);
  const newSession = (wallet: KeyringPair, forStream = streamId): PaidSession => live.newSession(wallet, forStream);
  const fund = (wallet: KeyringPair, s: PaidSession, amount: bigint) => live.fund(wallet, s, amount);
  /** What the module must require: 30 s of watching and the chain's fees for the settlements in it and the sweep. */
  const requiredFor = async (s: PaidSession, wallet: KeyringPair): Promise<bigint> => {
    const base = { streamId, sessionId: s.sessionId, seq: 1, creator: alice.address, asset: 'native' as const };
    const one = await estimateFee(
      buildSettlement(live.client, { ...base, amount: BigInt(SETTLE_EVERY) * PRICE }),
      s.key.address,
    );
    const last = await estimateFee(
      await buildFinalSettlement(live.client, {
        ...base,
        amount: BigInt(SETTLE_EVERY) * PRICE,
        sessionAccount: s.key.address,
        wallet: wallet.address,
      }),
      s.key.address,
    );
    return BigInt(MIN_PREPAY) * PRICE + BigInt(Math.ceil(MIN_PREPAY / SETTLE_EVERY)) * one + last;
  };
  const viewers = () => live.viewers();
  const ledger = () => live.ledger();
  const settle = async (v: ViewerClient, amount: bigint, seq: number) => {
    const tx = buildSettlement(live.client, {
      streamId,
      sessionId: v.session.sessionId,
      seq,
      creator: alice.address,
      asset: 'native',
      amount,
    });
    const res = await live.submitter.submit(tx, sessionKeyPair(v.session.key, 42));
    expect(res.ok).toBe(true);
  };
  /** The server's counter `name` (with `labels`, e.g. `outcome="invalid"`), 0 when it has no sample yet. */
  const counter = async (name: string, labels = ''): Promise<number> => {
    const metrics = await (await fetch(`${live.server.url}/metrics`)).text();
    const line = labels === '' ? name : `${name}{${labels}}`;
    const escaped = line.replace(/[{}]/g, (c) => `\\${c}`);
    return Number(new RegExp(`^${escaped} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
  };
  /** Resolves once the server's meter has completed `n` more rounds (its clock, not the test's). */
  const meterRounds = (n: number): Promise<void> => waitForRounds(viewers().meter, n);

  beforeAll(async () => {
    live = await startLiveStream({
      // Room for two WebRTC viewers (each costs one consumer unit per producer): the third goes to HLS.
      sfuEnv: { SFU_CONSUMERS_PER_WORKER: '4' },
      viewersEnv: {
        VOUCHER_GRACE_SECONDS: String(VOUCHER_GRACE),
        SETTLE_EVERY_SECONDS: String(SETTLE_EVERY),
        PAYMENT_GRACE_SECONDS: String(PAYMENT_GRACE),
        MIN_PREPAY_SECONDS: String(MIN_PREPAY),
        RECONNECT_GRACE_SECONDS: String(RECONNECT_GRACE),
        JOIN_RATE_LIMIT_MAX: String(JOIN_LIMIT),
        VOUCHER_VERIFY_INTERVAL_MS: String(VERIFY_MS),
      },
    });
    ({ alice, bob, charlie } = live.wallets);
    streamId = await createStream();
    const creator = await open(alice);
    await callOk(creator, 'stream:goLive', { streamId });
    publisher = await live.publish(creator, streamId);
  });

  afterAll(async () => {
    for (const v of rtcViewers) v.close();
    await live?.close();
  });

  it('lets only the live stream’s creator publish, through its own transports', async () => {
    const bobSocket = await open(bob);
    expect(await call(bobSocket, 'rtc:createTransport', { streamId, direction: 'send' })).toMatchObject({
      ok: false,
      code: 'NOT_CREATOR',
    });
    expect(
      await call(bobSocket, 'rtc:produce', { transportId: 'not-a-transport', kind: 'video', rtpParameters: {} }),
    ).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(
      await call(bobSocket, 'rtc:createTransport', { streamId: 'no-such-stream', direction: 'send' }),
    ).toMatchObject({ ok: false, code: 'STREAM_NOT_FOUND' });
    // The creator's producers (published over its socket in beforeAll) are in the room.
    expect(
      live.sfu
        .getRoom(streamId)
        ?.producers.map((p) => p.id)
        .sort(),
    ).toEqual([...publisher.producerIds].sort());
  });

  it('refuses bad delegations, unknown or idle streams and short balances, with exact amounts', async () => {
    const socket = await open(bob);
    // Signed by another wallet than the signed-in one.
    const forged = newSession(charlie);
    expect(await call(socket, 'viewer:join', { streamId, mode: 'webrtc', session: forged.payload })).toMatchObject({
      ok: false,
      code: 'SIGNATURE_INVALID',
    });
    // Delegated to another stream.
    const other = newSession(bob, 'some-other-stream');
    expect(await call(socket, 'viewer:join', { streamId, mode: 'webrtc', session: other.payload })).toMatchObject({
      ok: false,
      code: 'SIGNATURE_INVALID',
    });
    const unknown = newSession(bob, 'no-such-stream-0');
    expect(
      await call(socket, 'viewer:join', { streamId: 'no-such-stream-0', mode: 'webrtc', session: unknown.payload }),
    ).toMatchObject({ ok: false, code: 'STREAM_NOT_FOUND' });
    const idleStream = await createStream();
    const idle = newSession(bob, idleStream);
    expect(
      await call(socket, 'viewer:join', { streamId: idleStream, mode: 'webrtc', session: idle.payload }),
    ).toMatchObject({ ok: false, code: 'STREAM_NOT_LIVE' });

    // Fees follow the chain's fee multiplier, which moves with every block: compute them at the same head.
    const poor = newSession(bob);
    // Not funded on chain for this session: nothing else is looked at.
    const refused = await call(socket, 'viewer:join', { streamId, mode: 'webrtc', session: poor.payload });
    expect(refused).toMatchObject({ ok: false, code: 'SESSION_NOT_FUNDED' });
    // Funded for the watching but not the fees; the existential deposit is not spendable either.
    const ed = live.client.facts.existentialDeposit;
    await fund(bob, poor, BigInt(MIN_PREPAY) * PRICE + ed);
    const short = await call(socket, 'viewer:join', { streamId, mode: 'webrtc', session: poor.payload });
    expect(short).toMatchObject({ ok: false, code: 'BALANCE_INSUFFICIENT' });
    expect(short.details).toMatchObject({
      required: (await requiredFor(poor, bob)).toString(),
      available: (BigInt(MIN_PREPAY) * PRICE).toString(),
    });
    expect((await getBalance(live.client, poor.key.address, 'native')).spendable).toBe(BigInt(MIN_PREPAY) * PRICE);

    // Joins are rate limited per wallet.
    const daveSocket = await open(live.wallets.dave);
    const codes: string[] = [];
    for (let i = 0; i <= JOIN_LIMIT; i++) {
      const res = await call(daveSocket, 'viewer:join', { streamId, mode: 'webrtc', session: forged.payload });
      codes.push(res.code ?? 'ok');
    }
    expect(codes).toEqual([...Array(JOIN_LIMIT).fill('SIGNATURE_INVALID'), 'RATE_LIMITED']);
    daveSocket.close();
    socket.close();
  });

  let viewer: ViewerClient;
  let rtc: RtcViewer;
  let creatorBefore: bigint;
  /** What viewers other than `viewer` paid the creator since `creatorBefore`. */
  let otherViewersPaid = 0n;

  /**
   * After a failed test: brings the shared viewer back to acknowledging, settling and playing, whatever state the
   * failure left it in, so that one failure does not fail the tests after it.
   */
  const recoverViewer = async (): Promise<void> => {
    const room = live.sfu.getRoom(streamId);
    for (const id of publisher.producerIds) await room?.setProducerPaused(id, false);
    if (!viewer?.socket.connected) return;
    viewer.autoAck = true;
    viewer.settler = (a, seq) => settle(viewer, a, seq);
    await viewer.settling;
    const last = viewer.lastTick;
    if (!last) return;
    await viewer.ack(last);
    if (BigInt(last.owed) > viewer.submitted) {
      const amount = BigInt(last.owed) - viewer.submitted;
      viewer.submitted = BigInt(last.owed);
      await settle(viewer, amount, last.seq);
    }
    await vi.waitFor(() => expect(viewers().viewer(viewer.sessionId)?.paused).toBeUndefined(), {
      timeout: 30_000,
      interval: 100,
    });
  };

  it('meters a WebRTC viewer with real media: exact ticks, acknowledged with vouchers', async () => {
    const session = newSession(bob);
    await fund(bob, session, 10n ** 12n);
    const socket = await open(bob);
    viewer = new ViewerClient(socket, live.client.facts.genesisHash, streamId, session);
    viewer.settleEvery = BigInt(SETTLE_EVERY) * PRICE;
    viewer.settler = (amount, seq) => settle(viewer, amount, seq);
    creatorBefore = (await getBalance(live.client, alice.address, 'native')).total;
    const admission = await callOk(socket, 'viewer:join', { streamId, mode: 'auto', session: session.payload });
    expect(admission).toMatchObject({
      mode: 'webrtc',
      viewerId: session.sessionId,
      session: { resumed: false, seq: 0 },
    });
    rtc = await startRtcViewer(socket, streamId);
    rtcViewers.push(rtc);
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThanOrEqual(3), { timeout: 20_000, interval: 100 });
    expect(rtc.frames).toBeGreaterThan(0);
    viewer.ticks.forEach((t, i) => {
      expect(t).toMatchObject({ seq: i + 1, watchedSeconds: i + 1, owed: (BigInt(i + 1) * PRICE).toString() });
    });
    // Vouchers went out as notifications: none refused, and each tick carries the answer to the ones before it, the
    // verified amount, which lags the voucher just sent by up to one verification round.
    expect(viewer.saw('tick:refused')).toBe(0);
    const third = viewer.ticks[2] as Tick;
    await vi.waitFor(
      () => expect(BigInt(viewer.lastTick?.acknowledged as string)).toBeGreaterThanOrEqual(BigInt(third.owed)),
      { timeout: 20_000, interval: 50 },
    );
    expect(viewer.saw('tick:refused')).toBe(0);
    const last = viewer.lastTick as Tick;
    await vi.waitFor(
      async () => {
        const stored = await ledger().session(session.sessionId);
        expect(stored?.acknowledged).toBe(viewers().viewer(session.sessionId)?.acknowledged);
        expect(stored?.acknowledged).toBeGreaterThanOrEqual(BigInt(last.acknowledged as string));
        expect(stored?.acknowledged).toBeLessThanOrEqual(stored?.owed ?? -1n);
        expect(stored?.owed).toBe(BigInt(stored?.watchedSeconds ?? -1) * PRICE);
      },
      { timeout: 20_000, interval: 100 },
    );
  });

  it('refuses vouchers that do not match the tick at once, and pauses a bad signature before the voucher grace ends', async () => {
    onTestFailed(recoverViewer);
    const mark = viewer.enforcement.length;
    const refusedBefore = viewer.saw('tick:refused');
    const invalidBefore = await counter('signaling_vouchers_total', 'outcome="invalid"');
    const pausesBefore = await counter('signaling_enforcement_pauses_total', 'reason="voucher-invalid"');
    // The cheap checks answer at once: an amount that is not the tick's, a tick never sent, a malformed signature.
    const t = viewer.lastTick as Tick;
    expect(await viewer.ack({ seq: t.seq, owed: (BigInt(t.owed) + PRICE).toString() })).toMatchObject({
      ok: false,
      code: 'VOUCHER_INVALID',
    });
    expect(await viewer.ack({ seq: t.seq + 100, owed: (BigInt(t.seq + 100) * PRICE).toString() })).toMatchObject({
      ok: false,
      code: 'VOUCHER_INVALID',
    });
    expect(await call(viewer.socket, 'tick:ack', { seq: t.seq, owed: t.owed, signature: '0xabcd' })).toMatchObject({
      ok: false,
      code: 'VOUCHER_INVALID',
    });
    // Sent as notifications (no ack callback), the same refusals come as `tick:refused`, naming the tick.
    viewer.socket.emit('tick:ack', viewer.voucher({ seq: t.seq, owed: (BigInt(t.owed) + PRICE).toString() }));
    viewer.socket.emit('tick:ack', { seq: t.seq, owed: 'lots', signature: '0x' });
    viewer.socket.emit('tick:ack', { owed: t.owed });
    await vi.waitFor(() => expect(viewer.saw('tick:refused')).toBe(refusedBefore + 3), {
      timeout: 20_000,
      interval: 20,
    });
    expect(viewer.payloads('tick:refused').slice(refusedBefore)).toEqual(
      expect.arrayContaining([
        { seq: t.seq, code: 'VOUCHER_INVALID', message: expect.any(String) },
        { seq: t.seq, code: 'BAD_REQUEST', message: expect.any(String) },
        { code: 'BAD_REQUEST', message: expect.any(String) },
      ]),
    );

    // Signed by another key, for a tick not acknowledged yet (its voucher is the session's newest): taken, then found
    // out by a verification round, before the voucher grace counted from it would pause the viewer for lag.
    viewer.autoAck = false;
    const acked = viewer.ticks.length;
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThan(acked), { timeout: 20_000, interval: 20 });
    const bad = viewer.lastTick as Tick;
    expect(await viewer.ack(bad, createSessionKey(42))).toMatchObject({ ok: true });
    await vi.waitFor(() => expect(viewer.since(mark, 'payment:required')).toHaveLength(1), {
      timeout: 20_000,
      interval: 20,
    });
    const [required] = viewer.since(mark, 'payment:required');
    expect(required?.payload).toMatchObject({ reason: 'voucher-invalid' });
    expect(required?.seq).toBeLessThanOrEqual(bad.seq + VOUCHER_GRACE);
    expect(viewer.since(mark, 'media:paused')[0]?.payload).toMatchObject({ reason: 'voucher-invalid' });
    // Not acknowledged: the module and the ledger stay at the last valid voucher.
    const snapshot = viewers().viewer(viewer.session.sessionId);
    expect(snapshot?.paused).toBe('voucher-invalid');
    expect(snapshot?.acknowledged).toBeLessThan(BigInt(bad.owed));
    expect((await ledger().session(viewer.session.sessionId))?.acknowledged).toBe(snapshot?.acknowledged);
    // Garbage of the right shape is no better (found out by the round after it); a valid newest voucher resumes.
    const garbage = `0x${'ab'.repeat(64)}`;
    expect(await call(viewer.socket, 'tick:ack', { seq: bad.seq, owed: bad.owed, signature: garbage })).toMatchObject({
      ok: true,
    });
    await vi.waitFor(
      async () => expect(await counter('signaling_vouchers_total', 'outcome="invalid"')).toBe(invalidBefore + 6),
      { timeout: 20_000, interval: 50 },
    );
    expect(viewers().viewer(viewer.session.sessionId)?.paused).toBe('voucher-invalid');
    // Four refused by the cheap checks (one sent as a notification), two by signature verification; one pause.
    expect(await counter('signaling_enforcement_pauses_total', 'reason="voucher-invalid"')).toBe(pausesBefore + 1);
    const last = viewer.lastTick as Tick;
    expect(await viewer.ack(last)).toMatchObject({ ok: true });
    viewer.onVoucherSent(last);
    await vi.waitFor(() => expect(viewer.since(mark, 'media:resumed')).toHaveLength(1), {
      timeout: 20_000,
      interval: 20,
    });
    await vi.waitFor(
      async () => expect((await ledger().session(viewer.session.sessionId))?.acknowledged).toBe(BigInt(last.owed)),
      { timeout: 20_000, interval: 50 },
    );
    viewer.autoAck = true;
    const ticking = viewer.ticks.length;
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThan(ticking + 1), { timeout: 20_000 });
  });

  it('pauses a viewer that stops acknowledging at the tick past the voucher grace, and resumes it once it catches up', async () => {
    onTestFailed(recoverViewer);
    const mark = viewer.enforcement.length;
    viewer.autoAck = false;
    // Its voucher went out as it arrived; later ticks are not acknowledged.
    const acked = viewer.lastTick as Tick;
    await vi.waitFor(() => expect(viewer.since(mark, 'media:paused')).toHaveLength(1), {
      timeout: 30_000,
      interval: 50,
    });
    const [required] = viewer.since(mark, 'payment:required');
    expect(required?.payload).toMatchObject({ reason: 'voucher-lag' });
    // The tick that made the lag exceed the grace is the last one, and the pause came right after it: the server's
    // own account of the moment (the owed amount it paused at) is that tick's.
    const last = viewer.lastTick as Tick;
    expect(last.seq).toBe(acked.seq + VOUCHER_GRACE + 1);
    expect(required?.seq).toBe(last.seq);
    expect(required?.payload).toMatchObject({ owed: last.owed });
    // Media stops reaching it (the SFU paused its consumers), and no second is metered while paused.
    await vi.waitFor(() => expect(live.sfu.getRoom(streamId)?.isViewerPaused(viewer.sessionId)).toBe(true), {
      timeout: 20_000,
      interval: 50,
    });
    // Frames already on their way are still decoded: the count then stands still.
    const frozenFrames = await waitForStill(() => rtc.frames);
    const frozenTicks = viewer.ticks.length;
    await meterRounds(2);
    expect(rtc.frames).toBeLessThanOrEqual(frozenFrames + 2);
    expect(viewer.ticks.length).toBe(frozenTicks);
    expect(viewers().viewer(viewer.session.sessionId)?.paused).toBe('voucher-lag');

    viewer.autoAck = true;
    expect(await viewer.ack(last)).toMatchObject({ ok: true });
    viewer.onVoucherSent(last);
    // Caught up on vouchers; if the settlements fell behind meanwhile, media resumes once the chain shows the payment.
    await vi.waitFor(
      () =>
        expect(
          viewer.since(mark, 'media:resumed'),
          `paused: ${viewers().viewer(viewer.session.sessionId)?.paused}`,
        ).toHaveLength(1),
      { timeout: 30_000, interval: 50 },
    );
    expect(viewer.since(mark, 'payment:ok').length).toBeGreaterThanOrEqual(1);
    await vi.waitFor(() => expect(rtc.frames).toBeGreaterThan(frozenFrames + 20), { timeout: 30_000 });
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThan(frozenTicks + 1), { timeout: 30_000 });
  });

  it('charges no second while the creator’s producers are paused', async () => {
    onTestFailed(recoverViewer);
    const room = live.sfu.getRoom(streamId);
    if (!room) throw new Error('no room');
    for (const id of publisher.producerIds) await room.setProducerPaused(id, true);
    // The round in progress and the next one may still count media sent before the pause (a round's flow sample covers
    // the interval since the last); from the third on, nothing flows.
    await meterRounds(3);
    const before = viewer.ticks.length;
    const watched = viewers().viewer(viewer.session.sessionId)?.watchedSeconds;
    await meterRounds(3);
    expect(viewer.ticks.length).toBe(before);
    expect(viewers().viewer(viewer.session.sessionId)?.watchedSeconds).toBe(watched);
    for (const id of publisher.producerIds) await room.setProducerPaused(id, false);
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThan(before + 1), { timeout: 30_000 });
    viewer.ticks.forEach((t, i) => {
      expect(t.seq).toBe(i + 1);
      expect(t.owed).toBe((BigInt(i + 1) * PRICE).toString());
    });
  });

  it('pauses a viewer whose settlements fall behind the payment window, and resumes it when it pays', async () => {
    onTestFailed(recoverViewer);
    const id = viewer.session.sessionId;
    const pausesBefore = await counter('signaling_enforcement_pauses_total', 'reason="settlement-lag"');
    viewer.settler = undefined;
    await viewer.settling;
    // Every settlement submitted so far is credited first. On a loaded machine the viewer may have been held already
    // while its last settlement was on its way (and released by its credit): the state that counts is the one after.
    await vi.waitFor(() => expect(viewers().viewer(id)?.settled).toBe(viewer.submitted), {
      timeout: 20_000,
      interval: 50,
    });
    await vi.waitFor(() => expect(viewers().viewer(id)?.paused).toBe('settlement-lag'), {
      timeout: 30_000,
      interval: 50,
    });
    // The viewer heard it: its last word on media is the pause, after the payment:required that says why.
    const lastMedia = () => viewer.enforcement.findLast((e) => e.name.startsWith('media:'))?.name;
    await vi.waitFor(() => expect(lastMedia()).toBe('media:paused'), { timeout: 20_000, interval: 50 });
    const required = viewer.enforcement.findLast((e) => e.name === 'payment:required');
    expect(required?.payload).toMatchObject({ reason: 'settlement-lag' });
    const { owed, settled } = (required?.payload ?? {}) as { owed: string; settled: string };
    expect(BigInt(owed) - BigInt(settled)).toBe(BigInt(SETTLE_EVERY + PAYMENT_GRACE + 1) * PRICE);
    expect(await counter('signaling_enforcement_pauses_total', 'reason="settlement-lag"')).toBeGreaterThan(
      pausesBefore,
    );
    // Nothing is metered while held. Ticks of the rounds before the pause may still be on their way (each is written
    // before it is sent, slowly on a loaded machine; `owed` above is what was sent), but none counts a second the
    // meter had not counted when it held the session.
    const held = viewers().meter.state(id);
    expect(held?.paused).toBe(true);
    await meterRounds(2);
    expect(viewers().meter.state(id)).toEqual(held);
    await vi.waitFor(() => expect(BigInt((viewer.lastTick as Tick).owed)).toBe(held?.owed), {
      timeout: 20_000,
      interval: 50,
    });
    const frozenTicks = viewer.ticks.length;

    const last = viewer.lastTick as Tick;
    const amount = BigInt(last.owed) - viewer.submitted;
    viewer.submitted = BigInt(last.owed);
    const mark = viewer.enforcement.length;
    await settle(viewer, amount, last.seq);
    await vi.waitFor(() => expect(viewer.since(mark, 'media:resumed')).toHaveLength(1), {
      timeout: 30_000,
      interval: 50,
    });
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThan(frozenTicks + 1), { timeout: 30_000 });
    viewer.settler = (a, seq) => settle(viewer, a, seq);
  });

  it('resumes the same session after a disconnect within the grace period, without counting twice', async () => {
    onTestFailed(recoverViewer);
    // The voucher of the last tick reached the server before the connection drops (one emitted just before a close
    // can be lost with it on a loaded machine, and is then rightly not acknowledged).
    viewer.autoAck = false;
    const before = viewer.lastTick as Tick;
    expect(await viewer.ack(before)).toMatchObject({ ok: true });
    rtc.close();
    viewer.socket.close();
    await vi.waitFor(() => expect(viewers().viewer(viewer.session.sessionId)).toMatchObject({ connected: false }), {
      timeout: 20_000,
      interval: 50,
    });
    const socket = await open(bob);
    const again = new ViewerClient(socket, live.client.facts.genesisHash, streamId, viewer.session);
    again.settleEvery = viewer.settleEvery;
    again.submitted = viewer.submitted;
    again.settler = (a, seq) => settle(again, a, seq);
    const admission = await callOk(socket, 'viewer:join', {
      streamId,
      mode: 'webrtc',
      session: viewer.session.payload,
    });
    // From here on the shared viewer is this one (what a failure recovers).
    viewer = again;
    const standing = admission.session as { resumed: boolean; seq: number; owed: string; acknowledged: string };
    expect(standing.resumed).toBe(true);
    expect(standing.seq).toBeGreaterThanOrEqual(before.seq);
    // It carries on from what it signed: the voucher of the last tick it had is acknowledged.
    expect(BigInt(standing.acknowledged)).toBeGreaterThanOrEqual(BigInt(before.owed));
    expect(BigInt(standing.owed)).toBe(BigInt(standing.seq) * PRICE);
    rtc = await startRtcViewer(socket, streamId);
    rtcViewers.push(rtc);
    await vi.waitFor(() => expect(again.ticks.length).toBeGreaterThanOrEqual(2), { timeout: 20_000, interval: 100 });
    again.ticks.forEach((t, i) => {
      expect(t.seq).toBe(standing.seq + i + 1);
      expect(t.owed).toBe((BigInt(standing.seq + i + 1) * PRICE).toString());
    });
  });

  it('resumes a session another node metered before a restart from the ledger, without charging twice', async () => {
    const eve = live.wallets.eve;
    const session = newSession(eve);
    await fund(eve, session, 10n ** 12n);
    // What the node that died had written: 5 metered seconds, 4 acknowledged.
    await ledger().openSession({
      sessionId: session.sessionId,
      streamId,
      wallet: eve.address,
      sessionAccount: session.key.address,
      creator: alice.address,
      asset: 'native',
      pricePerSecond: PRICE,
      budget: 10n ** 12n,
    });
    await ledger().recordTicks(
      [1, 2, 3, 4, 5].map((n) => ({
        sessionId: session.sessionId,
        seq: n,
        watchedSeconds: n,
        owed: BigInt(n) * PRICE,
      })),
    );
    await ledger().recordVoucher({ sessionId: session.sessionId, seq: 4, owed: 4n * PRICE });

    const socket = await open(eve);
    const resumed = new ViewerClient(socket, live.client.facts.genesisHash, streamId, session);
    const admission = await callOk(socket, 'viewer:join', { streamId, mode: 'webrtc', session: session.payload });
    expect(admission.session).toEqual({
      resumed: true,
      seq: 5,
      watchedSeconds: 5,
      owed: (5n * PRICE).toString(),
      acknowledged: (4n * PRICE).toString(),
      settled: '0',
    });
    // The client may still acknowledge the tick the old node sent last.
    expect(await resumed.ack({ seq: 5, owed: (5n * PRICE).toString() })).toMatchObject({ ok: true });
    const media = await startRtcViewer(socket, streamId);
    rtcViewers.push(media);
    await vi.waitFor(() => expect(resumed.ticks.length).toBeGreaterThanOrEqual(2), { timeout: 20_000, interval: 100 });
    expect(resumed.ticks[0]).toMatchObject({ seq: 6, watchedSeconds: 6, owed: (6n * PRICE).toString() });
    const left = await callOk(socket, 'viewer:leave', {});
    media.close();
    const stored = await ledger().session(session.sessionId);
    expect(left.owed).toBe((BigInt(stored?.watchedSeconds ?? -1) * PRICE).toString());
    expect(stored?.lastSeq).toBe(stored?.watchedSeconds);
    // Eve leaves unpaid arrears: settle them so the creator's totals below stay exact.
    const final = await buildFinalSettlement(live.client, {
      streamId,
      sessionId: session.sessionId,
      seq: stored?.lastSeq ?? 0,
      creator: alice.address,
      asset: 'native',
      amount: stored?.owed ?? 0n,
      sessionAccount: session.key.address,
      wallet: eve.address,
    });
    expect((await live.submitter.submit(final, sessionKeyPair(session.key, 42))).ok).toBe(true);
    otherViewersPaid += stored?.owed ?? 0n;
  });

  it('places viewers over WebRTC while capacity allows, then refuses CAPACITY_FULL (webrtc) or sends them to HLS (auto)', async () => {
    const ferdie = live.wallets.ferdie;
    const [a, b, c] = [newSession(ferdie), newSession(ferdie), newSession(ferdie)];
    for (const s of [a, b, c]) await fund(ferdie, s, 10n ** 12n);
    const [sa, sb, sc] = [await open(ferdie), await open(ferdie), await open(ferdie)];
    // Bob's viewer holds the first place.
    expect(await callOk(sa, 'viewer:join', { streamId, mode: 'auto', session: a.payload })).toMatchObject({
      mode: 'webrtc',
    });
    expect(await call(sb, 'viewer:join', { streamId, mode: 'webrtc', session: b.payload })).toMatchObject({
      ok: false,
      code: 'CAPACITY_FULL',
    });
    const hls = await callOk(sc, 'viewer:join', { streamId, mode: 'auto', session: c.payload });
    expect(hls).toMatchObject({
      mode: 'hls',
      playlistUrl: expect.stringMatching(`^http://127\\.0\\.0\\.1:\\d+/hls/${streamId}/index\\.m3u8$`),
    });
    expect(typeof hls.token).toBe('string');
    expect(viewers().viewer(c.sessionId)).toMatchObject({ mode: 'hls', connected: true });
    expect(await call(sb, 'rtc:createTransport', { streamId, direction: 'recv' })).toMatchObject({
      ok: false,
      code: 'BAD_REQUEST',
    });
    for (const socket of [sa, sc]) expect(await callOk(socket, 'viewer:leave', {})).toMatchObject({ owed: '0' });
    for (const socket of [sa, sb, sc]) socket.close();
  });

  it('places an HLS viewer behind a renewed per-viewer token, charged per segment fetched while it pays', async () => {
    const session = newSession(charlie);
    await fund(charlie, session, 10n ** 12n);
    const socket = await open(charlie);
    const hls = new ViewerClient(socket, live.client.facts.genesisHash, streamId, session);
    hls.settleEvery = BigInt(SETTLE_EVERY) * PRICE;
    hls.settler = (amount, seq) => settle(hls, amount, seq);
    const admission = await callOk(socket, 'viewer:join', { streamId, mode: 'hls', session: session.payload });
    // A failure must not leave this viewer paying the creator behind the next test's back.
    let counted = false;
    onTestFailed(async () => {
      hls.settler = undefined;
      await hls.settling;
      if (!counted) otherViewersPaid += hls.submitted;
      await call(socket, 'viewer:leave', {});
    });
    // Served by the HLS edge child process, on a port of its own.
    expect(admission).toMatchObject({
      mode: 'hls',
      playlistUrl: expect.stringMatching(`/hls/${streamId}/index\\.m3u8$`),
    });
    let token = admission.token as string;
    const url = admission.playlistUrl as string;
    const edge = new URL(url).origin;
    expect(edge).not.toBe(live.server.url);
    const get = (t?: string) => fetch(t === undefined ? url : `${url}?token=${encodeURIComponent(t)}`);
    expect((await get()).status).toBe(401);
    expect((await get(`${token.slice(0, -2)}AA`)).status).toBe(401);
    expect((await fetch(`${edge}/hls/other-stream-id/index.m3u8?token=${token}`)).status).toBe(401);
    // Not on the signaling process any more.
    expect((await fetch(`${live.server.url}/hls/${streamId}/index.m3u8?token=${token}`)).status).toBe(404);

    // The player: fetches the playlist every half second with the newest token it was given, and the segments it
    // names that it has not fetched yet (the viewer is charged for the segments delivered).
    const statuses: number[] = [];
    const fetched = new Set<string>();
    let playing = true;
    const player = (async () => {
      while (playing) {
        token = hls.hlsToken ?? token;
        const res = await get(token);
        statuses.push(res.status);
        if (res.status !== 200) {
          await res.arrayBuffer();
        } else {
          const playlist = await res.text();
          expect(playlist).toMatch(/^#EXTM3U/);
          for (const file of playlist.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'))) {
            if (fetched.has(file)) continue;
            const segment = await fetch(`${url.replace(/[^/]+$/, file)}?token=${encodeURIComponent(token)}`);
            if (segment.status === 200) fetched.add(file);
            await segment.arrayBuffer();
          }
        }
        await sleep(500);
      }
    })();
    try {
      await vi.waitFor(() => expect(statuses).toContain(200), { timeout: 30_000, interval: 200 });
      await vi.waitFor(() => expect(hls.ticks.length).toBeGreaterThanOrEqual(3), { timeout: 30_000, interval: 100 });
      hls.ticks.forEach((t, i) => {
        expect(t).toMatchObject({ seq: i + 1, owed: (BigInt(i + 1) * PRICE).toString() });
      });
      // A tick renews the token once it is past half its life.
      // Ticks come with segments: a loaded machine's relay can be slow, hence the long waits.
      await vi.waitFor(() => expect(hls.ticks.some((t) => typeof t.hlsToken === 'string')).toBe(true), {
        timeout: 30_000,
        interval: 100,
      });

      // Behind on vouchers: no renewed token, and even a fresh one is refused.
      hls.autoAck = false;
      await vi.waitFor(() => expect(hls.saw('media:paused')).toBe(1), { timeout: 30_000, interval: 50 });
      const fresh = hls.ticks.findLast((t) => typeof t.hlsToken === 'string')?.hlsToken as string;
      const refused = await get(fresh);
      expect(refused.status).toBe(402);
      expect(await refused.json()).toMatchObject({ ok: false, code: 'PAYMENT_REQUIRED' });
      const last = hls.lastTick as Tick;
      const caughtUp = await hls.ack(last);
      expect(caughtUp).toMatchObject({ ok: true });
      // Verified in the next round.
      await vi.waitFor(
        async () => expect((await ledger().session(session.sessionId))?.acknowledged).toBe(BigInt(last.owed)),
        { timeout: 20_000, interval: 50 },
      );
      // Caught up on vouchers, the client settles its arrears and 30 s ahead, as a pay-ahead viewer does (slow blocks
      // of a loaded machine must not hold it for settlements while renewals are awaited); media and renewals resume.
      hls.autoAck = true;
      const ahead = 30n * PRICE;
      const arrears = BigInt(last.owed) - hls.submitted;
      hls.submitted = BigInt(last.owed) + ahead;
      hls.settling = hls.settling.then(() => settle(hls, arrears + ahead, last.seq));
      await hls.settling;
      await vi.waitFor(() => expect(viewers().viewer(session.sessionId)?.settled).toBe(hls.submitted), {
        timeout: 30_000,
        interval: 50,
      });
      // Resumed (once, or again if a tick held it for settlements before that credit landed) and not held since.
      await vi.waitFor(
        () => {
          expect(hls.saw('media:resumed'), `paused: ${viewers().viewer(session.sessionId)?.paused}`).toBeGreaterThan(0);
          expect(hls.events.findLast((e) => e.name.startsWith('media:'))?.name).toBe('media:resumed');
        },
        { timeout: 20_000, interval: 50 },
      );
      // Renewals stopped while paused: the resume brings a fresh token, which the player takes.
      const resumedWith = hls.events.findLast((e) => e.name === 'media:resumed')?.payload as { hlsToken?: string };
      expect((await get(resumedWith.hlsToken)).status).toBe(200);
      const ticksBefore = hls.ticks.length;
      // Half the token's life of paid ticks: slow when a loaded machine's relay lags or the viewer is held again.
      await vi.waitFor(
        () =>
          expect(
            hls.ticks.slice(ticksBefore).some((t) => typeof t.hlsToken === 'string'),
            `paused: ${viewers().viewer(session.sessionId)?.paused}, ticks since: ${hls.ticks.length - ticksBefore}`,
          ).toBe(true),
        { timeout: 60_000, interval: 100 },
      );
      const renewed = hls.ticks.findLast((t) => typeof t.hlsToken === 'string')?.hlsToken;
      expect(typeof renewed).toBe('string');
      expect((await get(renewed as string)).status).toBe(200);
    } finally {
      playing = false;
      await player;
    }
    await hls.settling;
    otherViewersPaid += hls.submitted;
    counted = true;
    // Leaving charges the media delivered and not metered yet: metered owed + the credit left, in whole seconds
    // (a tick in between moves a second from the credit to the metered amount, the sum stays).
    const before = viewers().viewer(session.sessionId);
    const left = await callOk(socket, 'viewer:leave', {});
    expect(BigInt(left.owed as string)).toBe(
      (before?.owed ?? 0n) + BigInt(Math.ceil((before?.hlsCredit ?? 0) - 1e-9)) * PRICE,
    );
    expect(BigInt(left.owed as string)).toBeGreaterThanOrEqual(BigInt((hls.lastTick as Tick).seq) * PRICE);
    expect((await get(token)).status).toBe(401);
  }, 150_000);

  it('leaves with exact totals; unsettled debt blocks the next session until paid; the creator got watched × price', async () => {
    viewer.settler = undefined;
    await viewer.settling;
    // Arrears of a session still watching are normal: a second session of the wallet is admitted meanwhile.
    const second = newSession(bob);
    await fund(bob, second, 10n ** 12n);
    await vi.waitFor(
      async () => {
        const watching = await ledger().session(viewer.session.sessionId);
        expect(watching && watching.acknowledged - watching.settledPending - watching.settledFinal).toBeGreaterThan(0n);
      },
      { timeout: 30_000, interval: 100 },
    );
    const secondSocket = await open(bob);
    expect((await call(secondSocket, 'viewer:join', { streamId, mode: 'hls', session: second.payload })).ok).toBe(true);
    expect((await callOk(secondSocket, 'viewer:leave', {})).owed).toBe('0');

    // The creator's media pauses, so the meter stops: the viewer leaves having acknowledged its last tick, and no
    // tick can come between its last voucher and the leave.
    const room = live.sfu.getRoom(streamId);
    for (const id of publisher.producerIds) await room?.setProducerPaused(id, true);
    let left: AckJson;
    let last: Tick;
    try {
      await meterRounds(3);
      last = viewer.lastTick as Tick;
      expect((await viewer.ack(last)).ok).toBe(true);
      left = await callOk(viewer.socket, 'viewer:leave', {});
    } finally {
      for (const id of publisher.producerIds) await room?.setProducerPaused(id, false);
    }
    rtc.close();
    const stored = await ledger().session(viewer.session.sessionId);
    expect(stored?.status).toBe('closed');
    expect(left.owed).toBe(stored?.owed.toString());
    expect(BigInt(left.owed as string)).toBe(BigInt(stored?.watchedSeconds ?? -1) * PRICE);
    expect(stored?.acknowledged).toBe(BigInt(left.owed as string));
    expect(viewers().viewer(viewer.session.sessionId)).toBeUndefined();

    // What was watched but not paid is debt: a new session is refused until it is settled.
    const debt = (stored?.acknowledged ?? 0n) - (stored?.settledPending ?? 0n) - (stored?.settledFinal ?? 0n);
    expect(debt).toBeGreaterThan(0n);
    const next = newSession(bob);
    await fund(bob, next, 10n ** 12n);
    const refused = await call(viewer.socket.connected ? viewer.socket : await open(bob), 'viewer:join', {
      streamId,
      mode: 'webrtc',
      session: next.payload,
    });
    expect(refused).toMatchObject({ ok: false, code: 'DEBT_OUTSTANDING', details: { debt: debt.toString() } });

    // The final settlement pays the arrears and sweeps the rest back to the wallet.
    const final = await buildFinalSettlement(live.client, {
      streamId,
      sessionId: viewer.session.sessionId,
      seq: last.seq,
      creator: alice.address,
      asset: 'native',
      amount: debt,
      sessionAccount: viewer.session.key.address,
      wallet: bob.address,
    });
    expect((await live.submitter.submit(final, sessionKeyPair(viewer.session.key, 42))).ok).toBe(true);
    await vi.waitFor(
      async () => {
        const s = await ledger().session(viewer.session.sessionId);
        expect((s?.settledPending ?? 0n) + (s?.settledFinal ?? 0n)).toBe(s?.owed);
      },
      { timeout: 30_000, interval: 100 },
    );
    const creatorAfter = (await getBalance(live.client, alice.address, 'native')).total;
    expect(creatorAfter - creatorBefore).toBe(BigInt(left.owed as string) + otherViewersPaid);
    expect((await getBalance(live.client, viewer.session.key.address, 'native')).total).toBe(0n);

    const socket = await open(bob);
    expect(await callOk(socket, 'viewer:join', { streamId, mode: 'webrtc', session: next.payload })).toMatchObject({
      mode: 'webrtc',
    });
    expect((await callOk(socket, 'viewer:leave', {})).owed).toBe('0');

    const metrics = await (await fetch(`${live.server.url}/metrics`)).text();
    expect(Number(/^signaling_ticks_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(10);
    // Every tick → voucher round trip of the paying viewers was timed.
    expect(Number(/^signaling_tick_voucher_seconds_count (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(10);
    // Signatures are verified per session and round: never more than the vouchers received.
    const count = (outcome: string) =>
      Number(new RegExp(`^signaling_vouchers_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect(count('valid')).toBeGreaterThan(0);
    expect(count('valid')).toBeLessThanOrEqual(count('received'));
  });

  it('closes the module with the node: meter stopped, viewers released, twice without harm', async () => {
    const mod = viewers();
    const room = live.sfu.getRoom(streamId);
    await mod.close?.();
    for (const s of live.sockets) s.close();
    await live.server.close();
    await live.server.close();
    expect(mod.meter.size).toBe(0);
    expect(() => mod.meter.add('late', { pricePerSecond: 1n, probe: () => true })).toThrow(/closed/);
    expect(room?.viewerIds ?? []).toEqual([]);
    expect(room?.hlsViewerIds ?? []).toEqual([]);
  });
});
