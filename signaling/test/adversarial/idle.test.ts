// Issue 19, attack 7 (idle viewers) — an admitted WebRTC viewer that never connects its transport holds the room's
// capacity and an RTP port; it is released after IDLE_RELEASE_SECONDS with `viewer:released`, its transport closed in
// the router and its session closed in the ledger, while a viewer that watches and pays is left alone. Real clients
// (socket.io-client, wrtc) on the real stack (dev chain, mediasoup, PGlite).
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LiveStream, PayingViewer } from '../support/liveStream.ts';
import { call, callOk, type RtcViewer, startRtcViewer } from '../viewers-support.ts';
import { freshWallet, liveStreamOf, metric, NO_SETTLEMENT_ENV, sessionWith } from './viewerAttacks.ts';

const PRICE = 1_000_000n;
/** Set small here (viewers config IDLE_RELEASE_SECONDS; default 60). */
const IDLE_RELEASE_SECONDS = 3;
/** IdleRelease sweeps every min(5 s, IDLE_RELEASE_SECONDS): a release comes 3 to 6 s after the last media sent. */
const IDLE_SWEEP_SECONDS = Math.min(5, IDLE_RELEASE_SECONDS);
/** Ticks a viewer may leave without a voucher before it is held (viewers config, set here). */
const VOUCHER_GRACE_SECONDS = 3;

describe('idle viewers: admitted, never connected, released', () => {
  let live: LiveStream;
  let streamId: string;
  const peers: RtcViewer[] = [];

  beforeAll(async () => {
    ({ live, streamId } = await liveStreamOf('Idle viewers', PRICE, {
      viewersEnv: {
        ...NO_SETTLEMENT_ENV,
        IDLE_RELEASE_SECONDS: String(IDLE_RELEASE_SECONDS),
        VOUCHER_GRACE_SECONDS: String(VOUCHER_GRACE_SECONDS),
      },
    }));
  });

  afterAll(async () => {
    for (const p of peers) p.close();
    await live?.close();
  });

  it('releases a WebRTC viewer that never connects its transport: viewer:released, transport closed, session closed', async () => {
    // A paying viewer watching all along: never idle.
    const { viewer: payer, rtc } = await live.joinRtcViewer(live.wallets.bob, streamId);
    peers.push(rtc);

    const wallet = await freshWallet(live, live.wallets.charlie);
    const session = sessionWith(live, wallet, streamId);
    await live.fund(wallet, session);
    const socket: Socket = await live.open(wallet);
    let released: { payload: unknown; at: number } | undefined;
    socket.on('viewer:released', (payload: unknown) => {
      released = { payload, at: Date.now() };
    });
    const ticks: unknown[] = [];
    socket.on('tick', (t: unknown) => ticks.push(t));
    const releasedBefore = await metric(live, 'signaling_idle_viewers_released_total');
    // The server marks the viewer active when it admits it: no earlier than this instant.
    const joinSentAt = Date.now();
    await callOk(socket, 'viewer:join', { streamId, mode: 'webrtc', session: session.payload });
    // Its receive transport exists (the client learns its parameters) but is never connected.
    const created = await callOk(socket, 'rtc:createTransport', { streamId, direction: 'recv' });
    const transport = created.transport as { id: string };
    const room = live.sfu.getRoom(streamId);
    expect(room?.viewerIds).toContain(session.sessionId);
    const transportsBefore = (await room?.originRouter.dump())?.transportIds ?? [];
    expect(transportsBefore).toContain(transport.id);

    // Bound: released IDLE_RELEASE_SECONDS after admission at the earliest, by the first sweep after it (≤ 3 + 3 s on
    // a quiet machine); waited for generously.
    await vi.waitFor(() => expect(released).toBeDefined(), {
      timeout: (IDLE_RELEASE_SECONDS + IDLE_SWEEP_SECONDS + 30) * 1000,
      interval: 100,
    });
    expect((released?.at ?? 0) - joinSentAt).toBeGreaterThanOrEqual(IDLE_RELEASE_SECONDS * 1000);
    expect(released?.payload).toEqual({ reason: 'idle', owed: '0', settled: '0' });
    expect(ticks).toEqual([]);

    // Its transport is closed in the router, its place in the room and its session in the ledger are gone.
    expect(room?.viewerIds).not.toContain(session.sessionId);
    const transportsAfter = (await room?.originRouter.dump())?.transportIds ?? [];
    expect(transportsAfter).not.toContain(transport.id);
    expect(transportsAfter).toHaveLength(transportsBefore.length - 1);
    expect(live.viewers().viewer(session.sessionId)).toBeUndefined();
    expect((await live.ledger().session(session.sessionId))?.status).toBe('closed');
    expect(await metric(live, 'signaling_idle_viewers_released_total')).toBe(releasedBefore + 1);
    // Nothing left to connect to.
    const late = await call(socket, 'rtc:connectTransport', { transportId: transport.id, dtlsParameters: {} });
    expect(late.ok).toBe(false);

    // The paying viewer watched on: still in the room and ticking.
    expect(room?.viewerIds).toContain(payer.sessionId);
    const seq = payer.lastTick?.seq ?? 0;
    await vi.waitFor(() => expect(payer.lastTick?.seq ?? 0).toBeGreaterThan(seq), { timeout: 30_000, interval: 100 });
    expect(payer.socket.listeners('viewer:released')).toHaveLength(0);
    await callOk(payer.socket, 'viewer:leave', {});
  });

  it('releases a viewer held for not paying that never pays: its transport and session closed, what it watched owed', async () => {
    const wallet = await freshWallet(live, live.wallets.dave);
    const session = sessionWith(live, wallet, streamId);
    await live.fund(wallet, session);
    const socket = await live.open(wallet);
    const viewer = new PayingViewer(socket, live.client.facts.genesisHash, streamId, session);
    // Never a voucher: held right after tick VOUCHER_GRACE_SECONDS + 1, then nothing is sent to it.
    viewer.autoAck = false;
    let released: unknown;
    socket.on('viewer:released', (payload: unknown) => {
      released = payload;
    });
    await callOk(socket, 'viewer:join', { streamId, mode: 'webrtc', session: session.payload });
    const rtc = await startRtcViewer(socket, streamId, { follow: true });
    peers.push(rtc);
    await vi.waitFor(() => expect(viewer.saw('media:paused')).toBe(1), { timeout: 60_000, interval: 50 });
    const room = live.sfu.getRoom(streamId);
    expect(room?.viewerIds).toContain(session.sessionId);
    // Bound: released IDLE_RELEASE_SECONDS after the last media it was sent, by the next sweep; waited for generously.
    await vi.waitFor(() => expect(released).toBeDefined(), {
      timeout: (IDLE_RELEASE_SECONDS + IDLE_SWEEP_SECONDS + 30) * 1000,
      interval: 100,
    });
    const owed = (BigInt(VOUCHER_GRACE_SECONDS + 1) * PRICE).toString();
    expect(released).toEqual({ reason: 'idle', owed, settled: '0' });
    expect(viewer.lastTick?.seq).toBe(VOUCHER_GRACE_SECONDS + 1);
    expect(room?.viewerIds).not.toContain(session.sessionId);
    expect((await live.ledger().session(session.sessionId))?.status).toBe('closed');
    // What it watched and did not pay is the wallet's debt: a new funded session is refused.
    const next = sessionWith(live, wallet, streamId);
    await live.fund(wallet, next);
    const again = await live.open(wallet);
    expect(await call(again, 'viewer:join', { streamId, mode: 'webrtc', session: next.payload })).toMatchObject({
      ok: false,
      code: 'DEBT_OUTSTANDING',
      details: { debt: owed },
    });
  });
});
