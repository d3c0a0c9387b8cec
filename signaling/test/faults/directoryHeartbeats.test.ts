// Issue 18: the shared stream directory's heartbeats across a Redis outage, on a redis-server of the test's own (no
// chain, no media). Two nodes' directories renew their heartbeats as the streams module does; Redis is killed for
// several TTLs and orphan graces and comes back with its append-only file: the stream hosted by the live node is
// never orphaned nor ended. And the rule still catches a node that really died: once the other node has renewed its
// own heartbeat for two TTLs, the dead node's stream is orphaned, then ended after the grace.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DependencyModule } from '../../src/dependencies/dependencyModule.ts';
import { watchRedis } from '../../src/dependencies/redisDependency.ts';
import { RedisStreamStore } from '../../src/streams/RedisStreamStore.ts';
import { type RedisServer, startRedisServer } from './redisServer.ts';

const TTL_MS = 1_000;
const GRACE_MS = 2_000;
/** How long a node's own heartbeats must have been steady before it takes another's lapse as death: TTL + max(TTL, 3 s). */
const STEADY_MS = TTL_MS + 3_000;
const PREFIX = 'persecond:test:directory:';

/** One node's directory on its own Redis client, renewing its heartbeat every third of the TTL. */
async function startNode(url: string, id: string) {
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  const redis: DependencyModule = watchRedis(client, new Registry(), pino({ level: 'silent' }));
  const store = new RedisStreamStore(client, PREFIX, { graceMs: GRACE_MS, endedKeepMs: 60_000 }, redis.availability);
  const renew = () => void store.heartbeat(id, TTL_MS).catch(() => undefined);
  await store.heartbeat(id, TTL_MS);
  let beat: NodeJS.Timeout | undefined = setInterval(renew, TTL_MS / 3);
  const unwatch = redis.availability.onChange((up) => up && renew());
  return {
    id,
    store,
    availability: redis.availability,
    /** Stops renewing: from outside, the node is dead. */
    die() {
      clearInterval(beat);
      beat = undefined;
      unwatch();
    },
    async close() {
      clearInterval(beat);
      unwatch();
      await redis.close?.();
      client.destroy();
    },
  };
}

describe('the directory’s heartbeats across a Redis crash', () => {
  let redis: RedisServer;
  let a: Awaited<ReturnType<typeof startNode>>;
  let b: Awaited<ReturnType<typeof startNode>>;

  beforeAll(async () => {
    redis = await startRedisServer();
    [a, b] = await Promise.all([startNode(redis.url, 'node-a'), startNode(redis.url, 'node-b')]);
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await redis?.close();
  });

  /** Creates, announces and takes live a stream hosted by `node`. */
  const liveOn = async (node: typeof a, streamId: string): Promise<void> => {
    await node.store.create(
      {
        streamId,
        creator: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY',
        title: streamId,
        description: '',
        pricePerSecond: 1n,
        asset: 'native',
        metadataCid: `cid-${streamId}`,
        createdAt: new Date().toISOString(),
      },
      60_000,
    );
    await node.store.markAnnounced(streamId, { blockHash: '0x00', blockNumber: 1, extrinsicHash: '0x00' });
    await node.store.markLive(streamId, node.id, new Date());
    await node.store.adjustViewers(streamId, node.id, 1);
  };

  it('orphans nothing for heartbeats that lapsed while Redis was away', async () => {
    await liveOn(a, 'hosted-by-a');
    // Both nodes steady long enough: node B's reads are conclusive.
    await new Promise((r) => setTimeout(r, STEADY_MS + 500));
    expect((await b.store.get('hosted-by-a'))?.status).toBe('live');

    await redis.kill();
    await vi.waitFor(() => expect(b.availability.available).toBe(false), { timeout: 5_000, interval: 20 });
    // A directory read is refused at once, not left waiting.
    await expect(b.store.get('hosted-by-a')).rejects.toThrow(/unreachable/);
    // Away for several TTLs and graces: every heartbeat key expires.
    await new Promise((r) => setTimeout(r, TTL_MS + 2 * GRACE_MS));
    await redis.start();
    await vi.waitFor(() => expect(b.availability.available).toBe(true), { timeout: 10_000, interval: 20 });

    const seen: { status?: string; listed: boolean; viewers?: number }[] = [];
    const until = Date.now() + STEADY_MS + GRACE_MS + 1_000;
    while (Date.now() < until) {
      try {
        const [one, listed] = await Promise.all([b.store.get('hosted-by-a'), b.store.listPublic()]);
        seen.push({
          status: one?.status,
          listed: listed.some((s) => s.streamId === 'hosted-by-a'),
          viewers: one?.viewers,
        });
      } catch (err) {
        // Only an outage's refusal, while node B has not seen Redis back yet.
        expect(String(err)).toMatch(/redis/);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.filter((s) => s.status !== 'live' || !s.listed || s.viewers !== 1)).toEqual([]);
    const check = createClient({ url: redis.url });
    await check.connect();
    expect(await check.hGet(`${PREFIX}stream:hosted-by-a`, 'orphanedAt')).toBeNull();
    check.destroy();
  });

  it('still orphans, then ends, the stream of a node that really died', async () => {
    await liveOn(a, 'abandoned');
    a.die();
    const diedAt = Date.now();
    await vi.waitFor(
      async () => expect((await b.store.listPublic()).some((s) => s.streamId === 'abandoned')).toBe(false),
      { timeout: 4 * TTL_MS + 2_000, interval: 50 },
    );
    expect((await b.store.get('abandoned'))?.status).toBe('live');
    await vi.waitFor(async () => expect((await b.store.get('abandoned'))?.status).toBe('ended'), {
      timeout: TTL_MS + GRACE_MS + 5_000,
      interval: 100,
    });
    expect(Date.now() - diedAt).toBeGreaterThanOrEqual(GRACE_MS);
  });
});
