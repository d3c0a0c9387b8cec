// Issue 18: the ledger's PostgreSQL crashes (SIGKILL) while a viewer watches and pays, and comes back. On the real parts
// (dev chain, mediasoup, a PostgreSQL cluster of the test's own on a free port): while the database is away the node
// sends no tick (none could be recorded), pauses nobody, keeps the media flowing, reports degraded on /healthz and in
// its metrics, refuses joins LEDGER_UNAVAILABLE and lets a viewer leave (closed in the ledger later); once it is back,
// ticks resume from the last one sent (the outage's seconds are not charged), a settlement made meanwhile is
// credited, and the ledger holds exactly the seconds the viewer was sent and acknowledged, each once. Waits are
// counted in the server's meter rounds.
import { buildSettlement, getBalance, sessionKeyPair } from '@persecond/contracts-client';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LedgerModule } from '../../src/ledger/ledgerModule.ts';
import { expectExactTicks, untilSettled, untilTicksStop } from '../support/exactTicks.ts';
import { type LiveStream, type PayingViewer, startLiveStream } from '../support/liveStream.ts';
import { meterRounds } from '../support/meterRounds.ts';
import { type AckJson, call, callOk, type Publisher, type RtcViewer } from '../viewers-support.ts';
import { type PostgresCluster, startPostgresCluster } from './postgresCluster.ts';

const PRICE = 1_000_000n;
/** Meter rounds the database stays away once the node has noticed (its own seconds, however loaded the machine). */
const OUTAGE_ROUNDS = 12;

interface Health {
  ok: boolean;
  status: 'ok' | 'degraded';
  modules: { ledger: { status: 'ok' | 'degraded'; since?: string; error?: string } };
}

describe('the ledger’s PostgreSQL killed and restarted while a viewer pays', () => {
  let pg: PostgresCluster;
  let live: LiveStream;
  let streamId: string;
  let creator: Socket;
  let viewer: PayingViewer;
  let rtc: RtcViewer;
  let publisher: Publisher;

  const health = async (): Promise<Health> => (await (await fetch(`${live.server.url}/healthz`)).json()) as Health;
  /** A sample of the server's metrics (`name{labels}`), 0 when it has none yet. */
  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`${live.server.url}/metrics`)).text();
    const escaped = name.replace(/[{}]/g, (c) => `\\${c}`);
    return Number(new RegExp(`^${escaped} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? 0);
  };
  const session = () => live.viewers().viewer(viewer.sessionId);
  let paid = 0n;
  /** Settles `amount` from the viewer's session account, as the dapp does (a `ps1:pay` transfer to the creator). */
  const settle = async (amount: bigint, seq: number): Promise<void> => {
    const tx = buildSettlement(live.client, {
      streamId,
      sessionId: viewer.sessionId,
      seq,
      creator: live.wallets.alice.address,
      asset: 'native',
      amount,
    });
    const res = await live.submitter.submit(tx, sessionKeyPair(viewer.session.key, 42));
    if (!res.ok) throw new Error(`settlement failed: ${res.status}`);
    paid += amount;
  };

  beforeAll(async () => {
    pg = await startPostgresCluster();
    live = await startLiveStream({
      ledger: { databaseUrl: pg.url, maxConnections: 4 },
      viewersEnv: { VOUCHER_VERIFY_INTERVAL_MS: '1000' },
    });
    const { alice, bob } = live.wallets;
    // The longest settle interval: the viewer is never behind on settlements during the test, only on the ledger.
    streamId = await live.announceStream(alice, 'Ledger outage', PRICE, { settleEverySeconds: 120 });
    creator = await live.open(alice);
    await callOk(creator, 'stream:goLive', { streamId });
    publisher = await live.publish(creator, streamId);
    ({ viewer, rtc } = await live.joinRtcViewer(bob, streamId));
  }, 240_000);

  afterAll(async () => {
    await live?.close();
    // Kills the postmaster and its backends by PID (rejects if one outlives SIGKILL) and removes the folder.
    await pg?.close();
  });

  it('sends no tick and pauses nobody while the database is away, then meters on without charging twice', async () => {
    const { alice, charlie, dave } = live.wallets;
    const creatorBefore = (await getBalance(live.client, alice.address, 'native')).total;
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThanOrEqual(3), { timeout: 60_000, interval: 50 });
    await vi.waitFor(() => expect(rtc.frames).toBeGreaterThan(0), { timeout: 30_000 });
    // One settlement credited before the outage.
    const first = viewer.lastTick;
    await settle(BigInt(first?.owed ?? 0), first?.seq ?? 0);
    await vi.waitFor(() => expect(session()?.settled).toBe(paid), { timeout: 60_000, interval: 100 });
    expect(await health()).toMatchObject({ ok: true, status: 'ok', modules: { ledger: { status: 'ok' } } });
    // A second viewer, funded and signed in before the outage, will try to join during it.
    const late = live.newSession(charlie, streamId);
    await live.fund(charlie, late);
    const lateSocket = await live.open(charlie);
    // A third viewer watches too, and will leave during the outage.
    const { viewer: leaving } = await live.joinRtcViewer(dave, streamId);
    await vi.waitFor(() => expect(leaving.ticks.length).toBeGreaterThanOrEqual(2), { timeout: 60_000, interval: 50 });
    const unrecordedBefore = await metric('signaling_ticks_unrecorded_total');
    const pausesBefore = viewer.saw('media:paused') + viewer.saw('payment:required');

    await pg.kill();
    await vi.waitFor(async () => expect((await health()).status).toBe('degraded'), { timeout: 30_000, interval: 100 });
    const degraded = await health();
    expect(degraded).toMatchObject({ ok: true, modules: { ledger: { status: 'degraded' } } });
    expect(degraded.modules.ledger.error).toBeTruthy();
    expect(await metric('signaling_ledger_available')).toBe(0);
    // A round whose write had landed before the kill may still be delivering: the count is taken a round later.
    await meterRounds(live.viewers().meter, 1);
    const sentBefore = viewer.ticks.length;
    const lastBefore = viewer.lastTick;
    const framesBefore = rtc.frames;

    // A join needs the ledger (funding, debt, the session row): refused with the stable, retryable code.
    const refused = await call(lateSocket, 'viewer:join', { streamId, mode: 'webrtc', session: late.payload });
    expect(refused).toMatchObject({ ok: false, code: 'LEDGER_UNAVAILABLE' });
    expect(Number(refused.details?.retryAfterMs)).toBeGreaterThan(0);
    // Leaving needs no ledger: the totals are the ticks it was sent (all recorded); the ledger closes it later.
    const leftEarly = await callOk(leaving.socket, 'viewer:leave', {});
    expect(leftEarly).toMatchObject({
      owed: leaving.lastTick?.owed,
      watchedSeconds: leaving.lastTick?.watchedSeconds,
    });
    // The viewer pays for what it was told while the database is away: the chain takes it, the ledger cannot yet.
    const told = viewer.lastTick;
    const owedUnpaid = BigInt(told?.owed ?? 0) - paid;
    expect(owedUnpaid).toBeGreaterThan(0n);
    await settle(owedUnpaid, told?.seq ?? 0);

    await meterRounds(live.viewers().meter, OUTAGE_ROUNDS);
    expect(viewer.ticks.length).toBe(sentBefore);
    expect(viewer.saw('media:paused') + viewer.saw('payment:required')).toBe(pausesBefore);
    expect(session()?.paused).toBeUndefined();
    // The media kept flowing and was metered, but no round could be recorded: nothing sent, nothing charged.
    expect(rtc.frames).toBeGreaterThan(framesBefore);
    expect((await metric('signaling_ticks_unrecorded_total')) - unrecordedBefore).toBeGreaterThanOrEqual(
      OUTAGE_ROUNDS - 1,
    );
    expect(await metric('signaling_ledger_unreachable_errors_total')).toBeGreaterThan(0);
    expect((await health()).status).toBe('degraded');

    const framesAtRestart = rtc.frames;
    await pg.start();
    await vi.waitFor(async () => expect((await health()).status).toBe('ok'), { timeout: 30_000, interval: 100 });
    expect(await metric('signaling_ledger_available')).toBe(1);
    expect(await metric('signaling_ledger_unavailable_seconds_total')).toBeGreaterThan(0);
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThan(sentBefore + 3), {
      timeout: 60_000,
      interval: 50,
    });
    expect(rtc.frames).toBeGreaterThan(framesAtRestart);
    // Metering carries on from the last tick sent: the outage's seconds were not charged, and no tick repeats.
    const resumed = viewer.ticks[sentBefore];
    expect(resumed).toMatchObject({
      seq: (lastBefore?.seq ?? 0) + 1,
      watchedSeconds: (lastBefore?.watchedSeconds ?? 0) + 1,
    });
    // The settlement made during the outage is credited once the watcher resumes from its cursor.
    await vi.waitFor(() => expect(session()?.settled).toBe(paid), { timeout: 60_000, interval: 100 });
    expect(session()?.paused).toBeUndefined();
    // The session that ended during the outage is closed in the ledger at what it was sent and acknowledged.
    const ledger = (live.server.modules.get('ledger') as LedgerModule).ledger;
    await vi.waitFor(
      async () =>
        expect(await ledger.session(leaving.sessionId)).toMatchObject({
          status: 'closed',
          lastSeq: leaving.lastTick?.seq,
          owed: BigInt(leftEarly.owed as string),
          acknowledged: BigInt(leftEarly.owed as string),
        }),
      { timeout: 30_000, interval: 200 },
    );
    // Joins work again.
    await callOk(lateSocket, 'viewer:join', { streamId, mode: 'webrtc', session: late.payload });
    await callOk(lateSocket, 'viewer:leave', {});

    // The creator stops sending: no media, no tick; once a few rounds pass without one, every tick was acknowledged.
    publisher.close();
    await untilTicksStop(viewer, live.viewers().meter);
    const left = (await callOk(viewer.socket, 'viewer:leave', {})) as AckJson & {
      owed: string;
      settled: string;
      watchedSeconds: number;
    };
    const ticks = viewer.ticks;
    const last = await expectExactTicks(ledger, viewer, PRICE);
    expect(left).toMatchObject({ owed: (BigInt(ticks.length) * PRICE).toString(), watchedSeconds: ticks.length });

    // The rest is paid as the dapp pays it on leaving; then charged = credited + debt, to the planck, on both sides.
    await settle(BigInt(left.owed) - paid, last?.seq ?? 0);
    await untilSettled(ledger, viewer.sessionId, paid);
    const debt = await ledger.debtOf(live.wallets.bob.address);
    expect(paid).toBe(BigInt(ticks.length) * PRICE);
    expect(BigInt(ticks.length) * PRICE).toBe(paid + debt.debt);
    expect(debt.debt).toBe(0n);
    expect((await getBalance(live.client, alice.address, 'native')).total - creatorBefore).toBe(paid);
  }, 300_000);
});
