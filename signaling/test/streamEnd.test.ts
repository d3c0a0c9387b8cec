// A stream's end on the real parts (dev chain, mediasoup, PGlite), with real clients: two paying viewers watch, one
// settles on the way, the creator ends the stream. Each viewer's final figures (the leave after `stream:ended`) equal
// its ledger session; the creator's summary (`stream:summary` at the end, `GET /v1/streams/:id/summary` after the
// viewers' final settlements) equals the ledger's sums and the chain's settlement events; an ended stream refuses
// admission (STREAM_NOT_LIVE, status ended) and the summary is its creator's only.
import {
  buildFinalSettlement,
  buildSettlement,
  decodeBlock,
  getBalance,
  type ProtocolEvent,
  sessionKeyPair,
} from '@persecond/contracts-client';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StreamEndSummary } from '../src/index.ts';
import { signIn } from './support/clients.ts';
import { type LiveStream, type PayingViewer, startLiveStream } from './support/liveStream.ts';
import { call, callOk } from './viewers-support.ts';

const PRICE = 1_000_000n;

describe('the end of a stream: the viewers’ final figures and the creator’s summary', () => {
  let live: LiveStream;
  let streamId: string;
  let creator: Socket;
  let firstBlock = 0;
  const summaries: StreamEndSummary[] = [];
  const watchers: { wallet: KeyringPair; viewer: PayingViewer }[] = [];
  const finals = new Map<string, { owed: string; settled: string; watchedSeconds: number }>();

  /** The protocol's events of the blocks since the test began, read from the chain. */
  const chainEvents = async (): Promise<ProtocolEvent[]> => {
    const { api } = live.client;
    const head = (await api.rpc.chain.getHeader()).number.toNumber();
    const events: ProtocolEvent[] = [];
    for (let n = firstBlock; n <= head; n++) {
      events.push(...(await decodeBlock(api, (await api.rpc.chain.getBlockHash(n)).toHex(), 42)));
    }
    return events;
  };
  const settledOnChain = (events: ProtocolEvent[], sessionId?: string): bigint =>
    events.reduce(
      (sum, e) =>
        e.type === 'settlement' && e.streamId === streamId && (!sessionId || e.sessionId === sessionId)
          ? sum + e.amount
          : sum,
      0n,
    );

  beforeAll(async () => {
    // Settlement windows far beyond the test: nothing pauses the viewers; vouchers verified at once.
    live = await startLiveStream({
      viewersEnv: { SETTLE_EVERY_SECONDS: '60', PAYMENT_GRACE_SECONDS: '600', VOUCHER_VERIFY_INTERVAL_MS: '200' },
    });
    firstBlock = (await live.client.api.rpc.chain.getHeader()).number.toNumber() + 1;
    const { alice } = live.wallets;
    creator = await live.open(alice);
    creator.on('stream:summary', (s: StreamEndSummary) => summaries.push(s));
    streamId = await live.announceStream(alice, 'Stream end', PRICE);
    await callOk(creator, 'stream:goLive', { streamId });
    await live.publish(creator, streamId);
  });

  afterAll(async () => {
    await live?.close();
  });

  it('closes each viewer’s session at the end and tells it its final figures, equal to its ledger session', async () => {
    for (const wallet of [live.wallets.bob, live.wallets.charlie]) {
      const { viewer } = await live.joinRtcViewer(wallet, streamId);
      watchers.push({ wallet, viewer });
    }
    await vi.waitFor(() => expect(watchers.every((w) => w.viewer.ticks.length >= 4)).toBe(true), {
      timeout: 30_000,
      interval: 100,
    });
    // Bob pays two seconds on the way (on chain, from his session key), so his figures carry a settled part.
    const bob = watchers[0]?.viewer as PayingViewer;
    const paid = await live.submitter.submit(
      buildSettlement(live.client, {
        streamId,
        sessionId: bob.sessionId,
        seq: 2,
        creator: live.wallets.alice.address,
        asset: 'native',
        amount: 2n * PRICE,
      }),
      sessionKeyPair(bob.session.key, 42),
    );
    expect(paid.ok).toBe(true);
    const settledOf = async (sessionId: string) => {
      const s = await live.ledger().session(sessionId);
      return (s?.settledPending ?? 0n) + (s?.settledFinal ?? 0n);
    };
    await vi.waitFor(async () => expect(await settledOf(bob.sessionId)).toBe(2n * PRICE), {
      timeout: 30_000,
      interval: 100,
    });

    expect(await callOk(creator, 'stream:end', { streamId })).toMatchObject({ streamId });
    for (const { viewer } of watchers) {
      await vi.waitFor(() => expect(viewer.saw('stream:ended')).toBe(1), { timeout: 10_000, interval: 50 });
      const left = await callOk(viewer.socket, 'viewer:leave', {});
      const stored = await live.ledger().session(viewer.sessionId);
      expect(stored?.status).toBe('closed');
      const figures = { owed: left.owed, settled: left.settled, watchedSeconds: left.watchedSeconds };
      expect(figures).toEqual({
        owed: stored?.owed.toString(),
        settled: ((stored?.settledPending ?? 0n) + (stored?.settledFinal ?? 0n)).toString(),
        watchedSeconds: stored?.watchedSeconds,
      });
      expect(BigInt(left.owed as string)).toBe(BigInt(left.watchedSeconds as number) * PRICE);
      expect(left.watchedSeconds).toBeGreaterThanOrEqual(4);
      finals.set(viewer.sessionId, figures as { owed: string; settled: string; watchedSeconds: number });
    }
    // What each viewer was told settled is what the chain shows its session paid so far.
    const events = await chainEvents();
    for (const [sessionId, f] of finals) expect(settledOnChain(events, sessionId)).toBe(BigInt(f.settled));
  });

  it('sends the creator its summary at the end: duration, peak and unique viewers, earned, settled, tips', async () => {
    await vi.waitFor(() => expect(summaries).toHaveLength(1), { timeout: 10_000, interval: 50 });
    const [atEnd] = summaries as [StreamEndSummary];
    const totals = await live.ledger().streamEndTotals(streamId);
    const earned = [...finals.values()].reduce((sum, f) => sum + BigInt(f.owed), 0n);
    expect(totals.owed).toBe(earned);
    expect(atEnd).toMatchObject({
      streamId,
      peakViewers: 2,
      uniqueViewers: 2,
      sessions: 2,
      openSessions: 0,
      earned: earned.toString(),
      unsettled: (earned - 2n * PRICE).toString(),
      tips: { pending: '0', final: '0' },
    });
    expect(BigInt(atEnd.settledPending) + BigInt(atEnd.settledFinal)).toBe(2n * PRICE);
    // The server's clock: from going live to the end, which no viewer watched longer than.
    const { liveAt, endedAt } = atEnd;
    expect(atEnd.durationSeconds).toBe(Math.floor((Date.parse(endedAt ?? '') - Date.parse(liveAt ?? '')) / 1000));
    const longest = Math.max(...[...finals.values()].map((f) => f.watchedSeconds));
    expect(atEnd.durationSeconds + 1).toBeGreaterThanOrEqual(longest);
  });

  it('serves the summary to its creator after the viewers’ final settlements: equal to the ledger and the chain', async () => {
    for (const { wallet, viewer } of watchers) {
      const f = finals.get(viewer.sessionId);
      const tx = await buildFinalSettlement(live.client, {
        streamId,
        sessionId: viewer.sessionId,
        seq: viewer.lastTick?.seq ?? 0,
        creator: live.wallets.alice.address,
        asset: 'native',
        amount: BigInt(f?.owed ?? 0) - BigInt(f?.settled ?? 0),
        sessionAccount: viewer.session.key.address,
        wallet: wallet.address,
      });
      expect((await live.submitter.submit(tx, sessionKeyPair(viewer.session.key, 42))).ok).toBe(true);
    }
    const token = await signIn(live.server.url, live.wallets.alice);
    const summary = async () => (await live.get(`/v1/streams/${streamId}/summary`, token)).summary as StreamEndSummary;
    await vi.waitFor(async () => expect((await summary()).unsettled).toBe('0'), { timeout: 30_000, interval: 200 });
    const served = await summary();
    const events = await chainEvents();
    const onChain = settledOnChain(events);
    const totals = await live.ledger().streamEndTotals(streamId);
    expect(BigInt(served.settledPending) + BigInt(served.settledFinal)).toBe(onChain);
    expect(totals.settledPending + totals.settledFinal).toBe(onChain);
    expect(served.earned).toBe(onChain.toString());
    expect(served).toMatchObject({
      peakViewers: 2,
      uniqueViewers: 2,
      openSessions: 0,
      durationSeconds: summaries[0]?.durationSeconds,
      endedAt: summaries[0]?.endedAt,
    });
    // Each session's rest went back to its wallet: one refund each, and nothing left on the session account.
    for (const { viewer } of watchers) {
      expect(events.filter((e) => e.type === 'refund' && e.sessionId === viewer.sessionId)).toHaveLength(1);
      expect((await getBalance(live.client, viewer.session.key.address, 'native')).total).toBe(0n);
    }
  });

  it('refuses a viewer on the ended stream with STREAM_NOT_LIVE, and the summary to anyone but its creator', async () => {
    const { eve } = live.wallets;
    expect(await live.statusOf(streamId)).toBe('ended');
    // Refused before anything about the session's funding is looked at: the page checks the status before funding.
    const session = live.newSession(eve, streamId);
    const socket = await live.open(eve);
    expect(await call(socket, 'viewer:join', { streamId, mode: 'auto', session: session.payload })).toMatchObject({
      ok: false,
      code: 'STREAM_NOT_LIVE',
      details: { status: 'ended' },
    });
    const bobToken = await signIn(live.server.url, live.wallets.bob);
    expect(await live.get(`/v1/streams/${streamId}/summary`, bobToken)).toMatchObject({
      ok: false,
      code: 'NOT_CREATOR',
    });
    expect(await live.get(`/v1/streams/${streamId}/summary`)).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    expect(await live.get('/v1/streams/no-such-stream/summary', bobToken)).toMatchObject({
      ok: false,
      code: 'STREAM_NOT_FOUND',
    });
  });
});
