// Pay-ahead and the creator's live numbers on the real parts (dev chain, mediasoup, PGlite): a stream whose creator
// chose pay-ahead serves a viewer only the seconds it paid for before they were served (the creator is never owed),
// the admission carries the rules and each side's worst case, and `stream:stats` equals the ledger.
import { buildSettlement, sessionKeyPair, TxSubmitter } from '@persecond/contracts-client';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StreamStats, Tick } from '../src/index.ts';
import { type LiveStream, PayingViewer, startLiveStream } from './support/liveStream.ts';
import { meterRounds } from './support/meterRounds.ts';
import { callOk, type RtcViewer, startRtcViewer } from './viewers-support.ts';

const PRICE = 1_000_000n;
const SETTLE_EVERY = 5;
const WINDOW = BigInt(SETTLE_EVERY) * PRICE;

describe('pay-ahead: every second paid before it is served; the creator’s live stats', () => {
  let live: LiveStream;
  let streamId: string;
  let creator: Socket;
  const stats: StreamStats[] = [];
  let rtc: RtcViewer | undefined;

  beforeAll(async () => {
    live = await startLiveStream({ viewersEnv: { VOUCHER_VERIFY_INTERVAL_MS: '200', MIN_PREPAY_SECONDS: '10' } });
    const { alice } = live.wallets;
    streamId = await live.announceStream(alice, 'Pay ahead', PRICE, {
      settleEverySeconds: SETTLE_EVERY,
      payAhead: true,
    });
    creator = await live.open(alice);
    creator.on('stream:stats', (s: StreamStats) => stats.push(s));
    await callOk(creator, 'stream:goLive', { streamId });
    await live.publish(creator, streamId);
  }, 180_000);

  afterAll(async () => {
    rtc?.close();
    await live?.close();
  });

  it('holds a pay-ahead viewer until its window lands, never serves an unpaid second, and tells the creator', async () => {
    const { bob } = live.wallets;
    const session = live.newSession(bob, streamId);
    await live.fund(bob, session);
    const socket = await live.open(bob);
    const viewer = new PayingViewer(socket, live.client.facts.genesisHash, streamId, session);
    const admission = await callOk(socket, 'viewer:join', { streamId, mode: 'webrtc', session: session.payload });
    expect(admission.rules).toMatchObject({ settleEverySeconds: SETTLE_EVERY, payAhead: true, paymentGraceSeconds: 0 });
    // With pay-ahead the creator can lose nothing; the viewer at most one window paid and not watched.
    expect(admission.exposure).toEqual({ creatorMax: '0', viewerMax: WINDOW.toString() });
    rtc = await startRtcViewer(socket, streamId, { follow: true });

    // Held from admission: nothing is paid yet.
    await vi.waitFor(
      () =>
        expect(viewer.payloads('payment:required')).toContainEqual(
          expect.objectContaining({ reason: 'settlement-lag' }),
        ),
      {
        timeout: 20_000,
      },
    );
    expect(viewer.ticks).toEqual([]);

    // Every tick must be covered by what the ledger had credited when it was sent.
    const uncovered: Tick[] = [];
    socket.on('tick', (t: Tick) => {
      const settled = live.viewers().viewer(session.sessionId)?.settled ?? 0n;
      if (BigInt(t.owed) > settled) uncovered.push(t);
    });
    const submitter = new TxSubmitter(live.client.api);
    const pay = async (seq: number) => {
      const tx = buildSettlement(live.client, {
        streamId,
        sessionId: session.sessionId,
        seq,
        creator: live.wallets.alice.address,
        asset: 'native',
        amount: WINDOW,
      });
      const res = await submitter.submit(tx, sessionKeyPair(session.key, 42));
      if (!res.ok) throw new Error(`settlement failed: ${res.status}`);
    };

    // One window paid: exactly that many seconds are served, then it is held again.
    await pay(0);
    await vi.waitFor(() => expect(viewer.ticks.length).toBe(SETTLE_EVERY), { timeout: 30_000, interval: 50 });
    await vi.waitFor(() => expect(live.viewers().viewer(session.sessionId)?.paused).toBe('settlement-lag'), {
      timeout: 20_000,
    });
    await vi.waitFor(() => expect(rtc?.frames).toBeGreaterThan(0), { timeout: 20_000 });
    // No tick beyond the window, whatever the wall clock: the meter skips a held viewer.
    await meterRounds(live.viewers().meter, 3);
    expect(viewer.ticks.length).toBe(SETTLE_EVERY);
    expect(live.viewers().viewer(session.sessionId)).toMatchObject({ owed: WINDOW, settled: WINDOW });

    // The creator's stats equal the ledger while the viewer is held (nothing moves).
    const totals = await live.ledger().streamTotals(streamId);
    await vi.waitFor(
      () =>
        expect(stats.at(-1)).toMatchObject({
          streamId,
          viewers: 1,
          owed: totals.owed.toString(),
          acknowledged: totals.acknowledged.toString(),
          settledPending: totals.settledPending.toString(),
          settledFinal: totals.settledFinal.toString(),
        }),
      { timeout: 20_000, interval: 100 },
    );
    expect(totals.owed).toBe(WINDOW);
    expect(totals.settledPending + totals.settledFinal).toBe(WINDOW);

    // The next window resumes it.
    await pay(SETTLE_EVERY);
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThan(SETTLE_EVERY), { timeout: 30_000 });
    await vi.waitFor(() => expect(stats.some((s) => BigInt(s.earningsPerSecond) === PRICE)).toBe(true), {
      timeout: 20_000,
    });
    const left = await callOk(socket, 'viewer:leave', {});
    expect(BigInt(left.owed as string)).toBeLessThanOrEqual(BigInt(left.settled as string));
    expect(uncovered).toEqual([]);
  }, 180_000);
});
