// Issue 18: the Redis that two signaling nodes share is frozen (SIGSTOP), then crashes (SIGKILL) and comes back, while
// a viewer watches and pays on node A and chat crosses between A and B. On the real parts (dev chain, mediasoup, a
// redis-server of the test's own on a free loopback port, with the deployment's append-only file): metering never
// depends on Redis, so the viewer is ticked every round and paused by nobody; /healthz says degraded and the metrics
// count it; a directory read is refused REDIS_UNAVAILABLE at once (not left hanging); once Redis answers again the
// sockets, the directory, chat and the heartbeats recover without restarting a node, and the stream is never taken
// for orphaned although every heartbeat lapsed far past the orphan grace. Waits are counted in meter rounds.
import { randomUUID } from 'node:crypto';
import { buildSettlement, getBalance, sessionKeyPair } from '@persecond/contracts-client';
import { createClient } from 'redis';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { chatModule } from '../../src/chat/ChatModule.ts';
import { loadChatConfig } from '../../src/chat/config.ts';
import type { SignalingServer } from '../../src/index.ts';
import type { LedgerModule } from '../../src/ledger/ledgerModule.ts';
import { anonymousOn, anonymousSocket, Reader, startChatStream } from '../chat/support.ts';
import { openSocket, request, signIn } from '../support/clients.ts';
import { expectExactTicks, untilSettled, untilTicksStop } from '../support/exactTicks.ts';
import { type LiveStream, liveStreamModules, type PayingViewer } from '../support/liveStream.ts';
import { meterRounds } from '../support/meterRounds.ts';
import { type AckJson, callOk, type Publisher, type RtcViewer } from '../viewers-support.ts';
import { type RedisServer, startRedisServer } from './redisServer.ts';

const PRICE = 1_000_000n;
/** Short heartbeats and grace, so that the outage lasts several times what would orphan and end the stream. */
const NODE_TTL_SECONDS = 2;
const CREATOR_GRACE_SECONDS = 4;
/** Meter rounds Redis stays away once both nodes noticed. */
const FROZEN_ROUNDS = 8;
const KILLED_ROUNDS = 12;

interface Health {
  ok: boolean;
  status: 'ok' | 'degraded';
  modules: { redis?: { status: 'ok' | 'degraded'; since?: string; error?: string } };
}

describe('the Redis of two signaling nodes frozen, then killed and restarted, while a viewer pays and chat flows', () => {
  const prefix = `persecond:test:${randomUUID()}:`;
  const streamsPrefix = `${prefix}streams:`;
  let redis: RedisServer;
  let live: LiveStream;
  let a: SignalingServer;
  let b: SignalingServer;
  let streamId: string;
  let viewer: PayingViewer;
  let rtc: RtcViewer;
  /** A second paying viewer, who leaves while Redis is away. */
  let leaving: PayingViewer;
  let publisher: Publisher;
  /** Chat on each node: a signed-in writer and an anonymous reader. */
  let writerA: Reader;
  let readerA: Reader;
  let writerB: Reader;
  let readerB: Reader;
  const bSockets: Socket[] = [];
  let viewerDisconnects = 0;

  const health = async (node: SignalingServer): Promise<Health> =>
    (await (await fetch(`${node.url}/healthz`)).json()) as Health;
  /** A sample of a node's metrics (`name`), 0 when it has none yet. */
  const metric = async (node: SignalingServer, name: string): Promise<number> => {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    return Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? 0);
  };
  const session = () => live.viewers().viewer(viewer.sessionId);
  const pauses = () => viewer.saw('media:paused') + viewer.saw('payment:required');
  /** What the stream's hash in the shared directory holds, read straight from Redis. */
  const directoryFields = async (): Promise<Record<string, string>> => {
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      return await client.hGetAll(`${streamsPrefix}stream:${streamId}`);
    } finally {
      client.destroy();
    }
  };
  /**
   * A message written on each node reaches the reader on the other one, once (by text: each node numbers the messages
   * of its own ledger).
   */
  const chatCrosses = async (label: string): Promise<void> => {
    const fromA = await writerA.say(streamId, `${label} from A`);
    const fromB = await writerB.say(streamId, `${label} from B`);
    const received = (reader: Reader, text: string) => reader.messages.filter((m) => m.text === text);
    await vi.waitFor(
      () => {
        expect(received(readerB, fromA.text)).toEqual([fromA]);
        expect(received(readerA, fromB.text)).toEqual([fromB]);
      },
      { timeout: 30_000, interval: 50 },
    );
  };
  /**
   * Reads node B's directory every 100 ms until `stop()`: the answers it gave (a refusal while Redis is away is
   * allowed), so that a stream dropped from the listing, or ended, even once, is seen.
   */
  const watchDirectory = () => {
    const seen: { listed: boolean; status: string | undefined }[] = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        const [list, one] = await Promise.all([fetch(`${b.url}/v1/streams`), fetch(`${b.url}/v1/streams/${streamId}`)]);
        if (list.status === 200 && one.status === 200) {
          const ids = ((await list.json()) as { streams: { streamId: string }[] }).streams.map((s) => s.streamId);
          const status = ((await one.json()) as { stream?: { status: string } }).stream?.status;
          seen.push({ listed: ids.includes(streamId), status });
        } else {
          // Only the stable refusal of an outage: never INTERNAL, never not found.
          for (const res of [list, one]) {
            if (res.status !== 200) expect(((await res.json()) as AckJson).code).toBe('REDIS_UNAVAILABLE');
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    return {
      seen,
      stop: async () => {
        running = false;
        await loop;
      },
    };
  };
  /** Both nodes report Redis degraded, then the outage lasts `rounds` more meter rounds: ticks go on all along. */
  const outageWhileMetered = async (rounds: number): Promise<void> => {
    for (const node of [a, b]) {
      await vi.waitFor(async () => expect((await health(node)).status).toBe('degraded'), {
        timeout: 20_000,
        interval: 100,
      });
      const state = await health(node);
      expect(state).toMatchObject({ ok: true, modules: { redis: { status: 'degraded' } } });
      expect(state.modules.redis?.error).toBeTruthy();
      expect(await metric(node, 'signaling_redis_available')).toBe(0);
    }
    // A directory read is refused at once with the stable, retryable code, not INTERNAL, and not left hanging.
    const startedAt = Date.now();
    const refused = await fetch(`${b.url}/v1/streams/${streamId}`);
    expect(refused.status).toBe(503);
    const body = (await refused.json()) as AckJson;
    expect(body).toMatchObject({ ok: false, code: 'REDIS_UNAVAILABLE' });
    expect(Number(body.details?.retryAfterMs)).toBeGreaterThan(0);
    expect(Date.now() - startedAt).toBeLessThan(2_000);
    // So is a chat message (its limits are counted in Redis), with the same code, not left hanging.
    const noAnswer = new Promise<AckJson>((r) => setTimeout(() => r({ ok: false, code: 'NO ANSWER IN 5 S' }), 5_000));
    expect(await Promise.race([writerB.send(streamId, 'while Redis is away'), noAnswer])).toMatchObject({
      ok: false,
      code: 'REDIS_UNAVAILABLE',
    });

    const sentBefore = viewer.ticks.length;
    const framesBefore = rtc.frames;
    const pausesBefore = pauses();
    await meterRounds(live.viewers().meter, rounds);
    // Metering needs no Redis: a tick each round (one may have been in flight at either end), each acknowledged.
    expect(viewer.ticks.length - sentBefore).toBeGreaterThanOrEqual(rounds - 2);
    expect(rtc.frames).toBeGreaterThan(framesBefore);
    expect(pauses()).toBe(pausesBefore);
    expect(session()?.paused).toBeUndefined();
    expect((await health(a)).status).toBe('degraded');
  };
  /**
   * Redis answers again: both nodes healthy, and the directory read for a while past the orphan grace; `viewers` is
   * the count it must show (node A puts right what it could not write during the outage).
   */
  const recovered = async (directory: ReturnType<typeof watchDirectory>, viewers: number): Promise<void> => {
    for (const node of [a, b]) {
      await vi.waitFor(async () => expect((await health(node)).status).toBe('ok'), { timeout: 30_000, interval: 100 });
      expect(await metric(node, 'signaling_redis_available')).toBe(1);
      expect(await metric(node, 'signaling_redis_unavailable_seconds_total')).toBeGreaterThan(0);
    }
    // Every heartbeat lapsed during the outage; reading on until well past TTL + grace finds the stream live each time.
    await new Promise((r) => setTimeout(r, (2 * NODE_TTL_SECONDS + CREATOR_GRACE_SECONDS + 3) * 1000));
    await directory.stop();
    expect(directory.seen.length).toBeGreaterThan(20);
    expect(directory.seen.filter((s) => !s.listed || s.status !== 'live')).toEqual([]);
    const fields = await directoryFields();
    expect(fields.orphanedAt).toBeUndefined();
    expect(fields.endedAt).toBeUndefined();
    expect(fields.liveAt).toBeTruthy();
    expect(viewer.saw('stream:ended')).toBe(0);
    // The viewer count is node A's own (its heartbeat renewed, what it missed written again).
    await vi.waitFor(
      async () => {
        const shown = (await (await fetch(`${b.url}/v1/streams/${streamId}`)).json()) as {
          stream: { viewers: number };
        };
        expect(shown.stream.viewers).toBe(viewers);
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(viewerDisconnects).toBe(0);
    expect(session()?.connected).toBe(true);
    // Still playing and paying.
    const frames = rtc.frames;
    const ticked = viewer.ticks.length;
    await vi.waitFor(() => expect(rtc.frames).toBeGreaterThan(frames), { timeout: 10_000, interval: 50 });
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThan(ticked), { timeout: 10_000, interval: 50 });
    // A new sign-in (its nonce kept in Redis) and socket on node B work again.
    const fresh = await openSocket(b.url, await signIn(b.url, live.wallets.eve));
    bSockets.push(fresh);
    expect(fresh.connected).toBe(true);
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    const env = { REDIS_URL: redis.url, REDIS_STREAM: `${prefix}socket.io` };
    const streamsEnv = {
      STREAMS_REDIS_PREFIX: streamsPrefix,
      STREAMS_NODE_TTL_SECONDS: String(NODE_TTL_SECONDS),
      STREAM_CREATOR_GRACE_SECONDS: String(CREATOR_GRACE_SECONDS),
    };
    const chatEnv = { CHAT_REDIS_PREFIX: `${prefix}chat:` };
    const viewersEnv = { VOUCHER_VERIFY_INTERVAL_MS: '1000' };
    live = await startChatStream({ env, streamsEnv, chatEnv, viewersEnv });
    a = live.server;
    // Node B: its own ledger (in memory), the same Redis; its chat reaches A's readers through the adapter.
    b = await live.startServer(
      {
        modules: [
          ...liveStreamModules({ streamsEnv, viewersEnv, ledgerDataDir: 'memory://' }),
          chatModule(loadChatConfig(chatEnv)),
        ],
      },
      env,
    );
    const { alice, bob, charlie, dave } = live.wallets;
    // The longest settle interval: the viewer is never behind on settlements during the test, whatever Redis does.
    streamId = await live.announceStream(alice, 'Redis outage', PRICE, { settleEverySeconds: 120 });
    const creator = await live.open(alice);
    await callOk(creator, 'stream:goLive', { streamId });
    publisher = await live.publish(creator, streamId);
    ({ viewer, rtc } = await live.joinRtcViewer(bob, streamId));
    ({ viewer: leaving } = await live.joinRtcViewer(dave, streamId));
    viewer.socket.on('disconnect', () => viewerDisconnects++);
    writerA = new Reader(await live.open(charlie));
    readerA = new Reader(await anonymousOn(live));
    const onB = await openSocket(b.url, await signIn(b.url, dave));
    const anonB = await anonymousSocket(b.url);
    bSockets.push(onB, anonB);
    writerB = new Reader(onB);
    readerB = new Reader(anonB);
    for (const r of [writerA, readerA, writerB, readerB]) await r.join(streamId);
  }, 240_000);

  afterAll(async () => {
    for (const s of bSockets) s.close();
    // A node closes its Redis clients with QUIT, which waits for Redis: bring it back if a failure left it away.
    if (redis?.frozen) redis.thaw();
    if (redis && redis.pid === undefined) await redis.start().catch(() => undefined);
    await live?.close();
    await redis?.close();
  });

  it('rides out a frozen Redis (SIGSTOP): metered throughout, refused fast, nothing orphaned after', async () => {
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThanOrEqual(3), { timeout: 60_000, interval: 50 });
    await vi.waitFor(() => expect(rtc.frames).toBeGreaterThan(0), { timeout: 30_000 });
    await chatCrosses('before');
    for (const node of [a, b]) {
      expect(await health(node)).toMatchObject({ ok: true, status: 'ok', modules: { redis: { status: 'ok' } } });
    }
    const outagesBefore = await metric(a, 'signaling_redis_outages_total');

    redis.freeze();
    const frozenAt = Date.now();
    await outageWhileMetered(FROZEN_ROUNDS);
    // Long past every heartbeat's TTL and the orphan grace.
    const wait = (NODE_TTL_SECONDS + CREATOR_GRACE_SECONDS + 1) * 1000 - (Date.now() - frozenAt);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const directory = watchDirectory();
    redis.thaw();
    await recovered(directory, 2);
    expect(await metric(a, 'signaling_redis_outages_total')).toBeGreaterThan(outagesBefore);
    await chatCrosses('after the freeze');
  }, 180_000);

  it('rides out a Redis crash (SIGKILL) and restart: the same, and every second charged once', async () => {
    const { alice, ferdie } = live.wallets;
    // A stream created before the crash (by another creator) is announced on chain during it: recorded once the
    // directory is back.
    const created = (
      await request(`${a.url}/v1/streams`, {
        token: await signIn(a.url, ferdie),
        body: { title: 'Announced while Redis is away', pricePerSecond: PRICE.toString(), asset: 'native' },
      })
    ).body as AckJson & { streamId: string; announcement: { callData: string } };
    expect(created.ok).toBe(true);

    await redis.kill();
    const killedAt = Date.now();
    await outageWhileMetered(KILLED_ROUNDS);
    const { api } = live.client;
    expect(
      (await live.submitter.submit(api.tx(api.createType('Call', created.announcement.callData)), ferdie)).ok,
    ).toBe(true);
    const wait = (NODE_TTL_SECONDS + CREATOR_GRACE_SECONDS + 1) * 1000 - (Date.now() - killedAt);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // The second viewer leaves while Redis is away: needs no Redis; the count it could not write is put right later.
    const leftEarly = (await callOk(leaving.socket, 'viewer:leave', {})) as AckJson & { owed: string };
    expect(leftEarly).toMatchObject({ owed: leaving.lastTick?.owed, watchedSeconds: leaving.lastTick?.watchedSeconds });
    const directory = watchDirectory();
    await redis.start();
    await recovered(directory, 1);
    await chatCrosses('after the crash');
    await vi.waitFor(
      async () => {
        const res = await request(`${b.url}/v1/streams/${created.streamId}`);
        expect((res.body.stream as { status?: string } | undefined)?.status).toBe('announced');
      },
      { timeout: 30_000, interval: 200 },
    );

    // The creator stops sending: no media, no tick; once a few rounds pass without one, every tick was acknowledged.
    publisher.close();
    await untilTicksStop(viewer, live.viewers().meter);
    const left = (await callOk(viewer.socket, 'viewer:leave', {})) as AckJson & { owed: string };
    const ticks = viewer.ticks;
    const ledger = (a.modules.get('ledger') as LedgerModule).ledger;
    // Every second charged was sent once, in order, one second each, through both outages.
    const last = await expectExactTicks(ledger, viewer, PRICE);
    expect(left.owed).toBe((BigInt(ticks.length) * PRICE).toString());

    // Paid as the dapp pays on leaving: charged = credited + debt, to the planck, in the ledger and on chain.
    const creatorBefore = (await getBalance(live.client, alice.address, 'native')).total;
    const owed = BigInt(left.owed);
    const tx = buildSettlement(live.client, {
      streamId,
      sessionId: viewer.sessionId,
      seq: last?.seq ?? 0,
      creator: alice.address,
      asset: 'native',
      amount: owed,
    });
    const res = await live.submitter.submit(tx, sessionKeyPair(viewer.session.key, 42));
    expect(res.ok).toBe(true);
    await untilSettled(ledger, viewer.sessionId, owed);
    expect((await ledger.debtOf(live.wallets.bob.address)).debt).toBe(0n);
    // The viewer who left unpaid during the outage owes exactly what it was told: charged = credited (0) + debt.
    expect((await ledger.debtOf(live.wallets.dave.address)).debt).toBe(BigInt(leftEarly.owed));
    expect(leaving.ticks.map((t) => t.seq)).toEqual(leaving.ticks.map((_, i) => i + 1));
    expect((await getBalance(live.client, alice.address, 'native')).total - creatorBefore).toBe(owed);
  }, 240_000);
});
