// Issue 18: the chain node becomes unreachable for the signaling node (a TCP proxy on loopback between them is cut:
// every connection reset, new ones refused; the chain itself keeps producing blocks) while a viewer watches and pays
// as the dapp does, settling every window. On the real parts (dev chain, mediasoup): while the chain is away the node
// reports degraded, counts it, refuses admissions CHAIN_UNAVAILABLE (retryable, not INTERNAL) and pauses nobody for the
// settlements that could not land meanwhile (the payment window is extended by the outage); once the link is back the
// settlement watcher catches up on the blocks it missed, crediting what the viewer paid meanwhile, and admissions work
// again. Every second charged is charged once and paid to the planck. Waits are counted in the server's meter rounds.
import { buildSettlement, connect, getBalance, sessionKeyPair } from '@persecond/contracts-client';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Tick } from '../../src/index.ts';
import { expectExactTicks, untilSettled, untilTicksStop } from '../support/exactTicks.ts';
import { type LiveStream, type PayingViewer, startLiveStream } from '../support/liveStream.ts';
import { meterRounds } from '../support/meterRounds.ts';
import { type AckJson, call, callOk, type Publisher, type RtcViewer } from '../viewers-support.ts';
import { startTcpProxy, type TcpProxy } from './tcpProxy.ts';

const PRICE = 1_000_000n;
/** The creator's settle interval and the node's grace: a viewer more than 10 s unsettled is held, outages aside. */
const SETTLE_EVERY_SECONDS = 5;
const PAYMENT_GRACE_SECONDS = 5;
/** Meter rounds the chain stays away before the viewer's own chain path comes back: twice the payment window. */
const OUTAGE_ROUNDS = 2 * (SETTLE_EVERY_SECONDS + PAYMENT_GRACE_SECONDS);

interface Health {
  ok: boolean;
  status: 'ok' | 'degraded';
  modules: { chain?: { status: 'ok' | 'degraded'; since?: string; error?: string } };
}

describe('the chain node unreachable for the signaling node while a viewer watches and pays', () => {
  let proxy: TcpProxy;
  let live: LiveStream;
  let streamId: string;
  let viewer: PayingViewer;
  let rtc: RtcViewer;
  let publisher: Publisher;
  /** What the viewer paid on chain so far (settlements landed), and what it handed to the chain (queued too). */
  let paid = 0n;
  let handed = 0n;
  /** Whether the viewer's own way to the chain works (the dapp settles only when it can reach a node). */
  let viewerReachesChain = true;
  let settling: Promise<void> = Promise.resolve();
  const failures: unknown[] = [];
  /** The creator's balance before any settlement. */
  let creatorBefore: bigint;

  const health = async (): Promise<Health> => (await (await fetch(`${live.server.url}/healthz`)).json()) as Health;
  /** A sample of the server's metrics (`name`), 0 when it has none yet. */
  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`${live.server.url}/metrics`)).text();
    return Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? 0);
  };
  const session = () => live.viewers().viewer(viewer.sessionId);
  const pauses = () => viewer.saw('media:paused') + viewer.saw('payment:required');
  /** Settles up to tick `t` from the session account, as the dapp does (a `ps1:pay` transfer to the creator). */
  const settleTo = (t: Pick<Tick, 'seq' | 'owed'>): Promise<void> => {
    const amount = BigInt(t.owed) - handed;
    if (amount <= 0n) return settling;
    handed += amount;
    settling = settling.then(async () => {
      const tx = buildSettlement(live.client, {
        streamId,
        sessionId: viewer.sessionId,
        seq: t.seq,
        creator: live.wallets.alice.address,
        asset: 'native',
        amount,
      });
      const res = await live.submitter.submit(tx, sessionKeyPair(viewer.session.key, 42));
      if (!res.ok) {
        failures.push(res);
        return;
      }
      paid += amount;
    });
    return settling;
  };

  beforeAll(async () => {
    live = await startLiveStream({
      viewersEnv: { VOUCHER_VERIFY_INTERVAL_MS: '1000', PAYMENT_GRACE_SECONDS: String(PAYMENT_GRACE_SECONDS) },
      // The node reaches the chain through the proxy; the test's own client (funding, settlements) goes direct.
      serverChain: async (chain) => {
        proxy = await startTcpProxy(chain.port);
        return connect(`ws://127.0.0.1:${proxy.port}`, { timeoutMs: 5_000 });
      },
    });
    const { alice, bob } = live.wallets;
    streamId = await live.announceStream(alice, 'Chain outage', PRICE, { settleEverySeconds: SETTLE_EVERY_SECONDS });
    const creator = await live.open(alice);
    await callOk(creator, 'stream:goLive', { streamId });
    publisher = await live.publish(creator, streamId);
    creatorBefore = (await getBalance(live.client, alice.address, 'native')).total;
    ({ viewer, rtc } = await live.joinRtcViewer(bob, streamId));
    // As the dapp: a settlement at the end of every window, when the viewer can reach the chain.
    viewer.onVoucherSent = (t) => {
      if (viewerReachesChain && t.seq % SETTLE_EVERY_SECONDS === 0) void settleTo(t);
    };
  }, 240_000);

  afterAll(async () => {
    await live?.close();
    await proxy?.close();
  });

  it('refuses admissions CHAIN_UNAVAILABLE, holds nobody for settlements it could not see, then catches up', async () => {
    const { alice, charlie } = live.wallets;
    await vi.waitFor(() => expect(rtc.frames).toBeGreaterThan(0), { timeout: 30_000 });
    // A window settled and credited before the outage.
    await vi.waitFor(() => expect(paid).toBeGreaterThan(0n), { timeout: 60_000, interval: 50 });
    await vi.waitFor(() => expect(session()?.settled).toBeGreaterThan(0n), { timeout: 60_000, interval: 100 });
    expect(await health()).toMatchObject({ ok: true, status: 'ok', modules: { chain: { status: 'ok' } } });
    // A second viewer, funded and signed in before the outage, will try to join during it.
    const late = live.newSession(charlie, streamId);
    await live.fund(charlie, late);
    const lateSocket: Socket = await live.open(charlie);
    const pausesBefore = pauses();

    // Right after a window is credited (the viewer current, a second or two unsettled), the link drops: the viewer
    // cannot reach the chain either (its settlements stop); the chain itself runs on.
    const creditedSoFar = session()?.settled ?? 0n;
    await vi.waitFor(() => expect(session()?.settled ?? 0n).toBeGreaterThan(creditedSoFar), {
      timeout: 30_000,
      interval: 20,
    });
    viewerReachesChain = false;
    await proxy.cut();
    await settling;
    const cutAt = Date.now();
    await vi.waitFor(async () => expect((await health()).status).toBe('degraded'), { timeout: 20_000, interval: 100 });
    const degraded = await health();
    expect(degraded).toMatchObject({ ok: true, modules: { chain: { status: 'degraded' } } });
    expect(degraded.modules.chain?.error).toBeTruthy();
    expect(await metric('signaling_chain_available')).toBe(0);
    const creditedBefore = session()?.settled ?? 0n;

    // An admission needs the chain: refused at once with the stable, retryable code.
    const askedAt = Date.now();
    const refused = await call(lateSocket, 'viewer:join', { streamId, mode: 'webrtc', session: late.payload });
    expect(refused).toMatchObject({ ok: false, code: 'CHAIN_UNAVAILABLE' });
    expect(Number(refused.details?.retryAfterMs)).toBeGreaterThan(0);
    expect(Date.now() - askedAt).toBeLessThan(2_000);

    const sentBefore = viewer.ticks.length;
    const framesBefore = rtc.frames;
    await meterRounds(live.viewers().meter, OUTAGE_ROUNDS);
    // Metered on (the ledger is there), far past the payment window, and held by nobody: the chain was away.
    expect(viewer.ticks.length - sentBefore).toBeGreaterThanOrEqual(OUTAGE_ROUNDS - 2);
    expect(rtc.frames).toBeGreaterThan(framesBefore);
    const during = session();
    expect((during?.owed ?? 0n) - (during?.settled ?? 0n)).toBeGreaterThan(
      BigInt(SETTLE_EVERY_SECONDS + PAYMENT_GRACE_SECONDS) * PRICE,
    );
    expect(pauses()).toBe(pausesBefore);
    expect(during?.paused).toBeUndefined();

    // The viewer's own way to the chain comes back first: its next windows land in blocks the node does not see.
    viewerReachesChain = true;
    void settleTo(viewer.lastTick as Tick);
    await settling;
    const paidDuringOutage = paid;
    expect(paidDuringOutage).toBeGreaterThan(creditedBefore);
    await meterRounds(live.viewers().meter, 2);
    expect(session()?.settled).toBe(creditedBefore);
    expect(session()?.paused).toBeUndefined();
    expect((await health()).status).toBe('degraded');
    expect(Date.now() - cutAt).toBeLessThan(60_000);

    await proxy.restore();
    await vi.waitFor(async () => expect((await health()).status).toBe('ok'), { timeout: 60_000, interval: 100 });
    expect(await metric('signaling_chain_available')).toBe(1);
    expect(await metric('signaling_chain_unavailable_seconds_total')).toBeGreaterThan(0);
    expect(await metric('signaling_chain_outages_total')).toBeGreaterThanOrEqual(1);
    // The watcher catches up on the blocks it missed: what was paid during the outage is credited.
    await vi.waitFor(() => expect(session()?.settled ?? 0n).toBeGreaterThanOrEqual(paidDuringOutage), {
      timeout: 60_000,
      interval: 100,
    });
    // Still playing and paying.
    const frames = rtc.frames;
    await vi.waitFor(() => expect(rtc.frames).toBeGreaterThan(frames), { timeout: 10_000, interval: 50 });
    // Admissions work again.
    await callOk(lateSocket, 'viewer:join', { streamId, mode: 'webrtc', session: late.payload });
    await callOk(lateSocket, 'viewer:leave', {});
    // Windows keep landing and being credited; still nobody held.
    const creditedAfter = session()?.settled ?? 0n;
    await vi.waitFor(() => expect(session()?.settled ?? 0n).toBeGreaterThan(creditedAfter), {
      timeout: 60_000,
      interval: 100,
    });
    expect(pauses()).toBe(pausesBefore);

    // The creator stops sending: no media, no tick; once a few rounds pass without one, every tick was acknowledged.
    publisher.close();
    await untilTicksStop(viewer, live.viewers().meter);
    viewerReachesChain = false;
    await settling;
    const left = (await callOk(viewer.socket, 'viewer:leave', {})) as AckJson & { owed: string };
    const ledger = live.ledger();
    // Every second charged was sent once, in order, one second each.
    const last = (await expectExactTicks(ledger, viewer, PRICE)) as Tick;
    expect(left.owed).toBe((BigInt(viewer.ticks.length) * PRICE).toString());

    // The rest is paid as the dapp pays on leaving: charged = credited + debt, to the planck, in the ledger and on chain.
    await settleTo(last);
    expect(failures).toEqual([]);
    expect(paid).toBe(BigInt(left.owed));
    await untilSettled(ledger, viewer.sessionId, paid);
    expect((await ledger.debtOf(live.wallets.bob.address)).debt).toBe(0n);
    expect((await getBalance(live.client, alice.address, 'native')).total - creatorBefore).toBe(paid);
  }, 300_000);
});
