import { StreamTerms } from '@persecond/contracts-client/metadata';
import type { createClient } from 'redis';
import { z } from 'zod';
import type { DependencyAvailability } from '../dependencies/Availability.ts';
import { guardRedis } from '../dependencies/redisDependency.ts';
import {
  type AnnouncementSeen,
  type StoredStream,
  type StreamInfo,
  type StreamStore,
  statusOf,
} from './StreamStore.ts';

type Redis = ReturnType<typeof createClient>;

const Info = z.object({
  streamId: z.string(),
  creator: z.string(),
  title: z.string(),
  description: z.string(),
  pricePerSecond: z
    .string()
    .regex(/^[0-9]+$/)
    .transform(BigInt),
  asset: z.union([z.literal('native'), z.number().int()]),
  metadataCid: z.string(),
  thumbnailCid: z.string().optional(),
  createdAt: z.string(),
  terms: StreamTerms.optional(),
});

const Seen = z.object({ blockHash: z.string(), blockNumber: z.number().int(), extrinsicHash: z.string() });

/** How the shared directory treats the streams of a node that died. */
export interface OrphanPolicy {
  /** An orphaned live stream ends this long after a node first noticed (the creator may go live elsewhere meanwhile). */
  graceMs: number;
  /** How long a stream ended that way stays readable. */
  endedKeepMs: number;
}

/** A stream's hash: the record, and the viewer count each node keeps in its own field. */
interface Parsed {
  record: StoredStream;
  viewersByNode: Map<string, number>;
}

const VIEWERS_FIELD = 'viewers:';

/** node-redis's longest reconnect backoff (2 s plus up to 0.2 s of jitter), with room: nodes see Redis back apart. */
const RECONNECT_SLACK_MS = 3_000;

/** Raises the hash's `peakViewers` to ARGV[1] when above it (one step: nodes raising it at once never lower it). */
const RAISE_PEAK = `local p = tonumber(redis.call('HGET', KEYS[1], 'peakViewers') or '0')
if tonumber(ARGV[1]) > p then redis.call('HSET', KEYS[1], 'peakViewers', ARGV[1]) end
return 0`;

/**
 * The directory shared by every node of a deployment: one Redis hash per stream (`info`, `announced`, `liveAt`,
 * `node`, `endedAt`, `orphanedAt`, `peakViewers`, and `viewers:<node>` per node with viewers, each written on its
 * own), a set of the public stream ids, and one expiring heartbeat key per node. Only nodes whose heartbeat is current
 * count: a live stream whose node was killed is orphaned (left out of the listing at once, ended once
 * `OrphanPolicy.graceMs` has passed unless it went live again), and the viewers a dead node had are not counted.
 * A missing heartbeat is taken as a dead node only while this node's own heartbeats have been renewed without a gap
 * for two TTLs (at least a TTL and 3 s): when Redis was away (restarted, frozen), every node's heartbeat lapsed alike
 * and says nothing.
 * Operations a request waits for are refused REDIS_UNAVAILABLE while Redis is away (`availability`) or silent.
 */
export class RedisStreamStore implements StreamStore {
  /** When this node's heartbeat was last renewed (ms since epoch; 0: never). */
  #lastBeatAt = 0;
  /** Since when its renewals have come without a gap (ms since epoch). */
  #steadySince = 0;
  /** The heartbeat TTL in force (from the last renewal). */
  #ttlMs = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly orphans: OrphanPolicy,
    private readonly availability?: DependencyAvailability,
  ) {}

  /** Runs a directory operation a request waits for (see `guardRedis`). */
  private guard<T>(op: () => Promise<T>): Promise<T> {
    return guardRedis(this.availability, op);
  }

  private key(streamId: string): string {
    return `${this.prefix}stream:${streamId}`;
  }

  private nodeKey(node: string): string {
    return `${this.prefix}node:${node}`;
  }

  private get publicKey(): string {
    return `${this.prefix}public`;
  }

  create(info: StreamInfo, pendingTtlMs: number): Promise<void> {
    return this.guard(() => this.#create(info, pendingTtlMs));
  }

  get(streamId: string): Promise<StoredStream | undefined> {
    return this.guard(() => this.#get(streamId));
  }

  listPublic(): Promise<StoredStream[]> {
    return this.guard(() => this.#listPublic());
  }

  markAnnounced(streamId: string, seen: AnnouncementSeen): Promise<boolean> {
    return this.guard(() => this.#markAnnounced(streamId, seen));
  }

  markLive(streamId: string, node: string, at: Date): Promise<void> {
    return this.guard(() => this.#markLive(streamId, node, at));
  }

  markEnded(streamId: string, at: Date, keepMs: number): Promise<void> {
    return this.guard(() => this.#markEnded(streamId, at, keepMs));
  }

  adjustViewers(streamId: string, node: string, delta: number): Promise<number> {
    return this.guard(() => this.#adjustViewers(streamId, node, delta));
  }

  setViewers(streamId: string, node: string, count: number): Promise<void> {
    return this.guard(async () => {
      const key = this.key(streamId);
      if (await this.redis.hExists(key, 'info'))
        await this.redis.hSet(key, `${VIEWERS_FIELD}${node}`, Math.max(0, count));
    });
  }

  async #create(info: StreamInfo, pendingTtlMs: number): Promise<void> {
    const key = this.key(info.streamId);
    const json = JSON.stringify({ ...info, pricePerSecond: info.pricePerSecond.toString() });
    await this.redis.multi().hSet(key, { info: json }).pExpire(key, pendingTtlMs).exec();
  }

  async #get(streamId: string): Promise<StoredStream | undefined> {
    const parsed = parse(await this.redis.hGetAll(this.key(streamId)));
    if (!parsed) return undefined;
    await this.checkNodes([parsed]);
    return parsed.record;
  }

  async #listPublic(): Promise<StoredStream[]> {
    const ids = await this.redis.sMembers(this.publicKey);
    if (ids.length === 0) return [];
    const multi = this.redis.multi();
    for (const id of ids) multi.hGetAll(this.key(id));
    const hashes = (await multi.exec()) as unknown as Record<string, string>[];
    const found: Parsed[] = [];
    const gone: string[] = [];
    hashes.forEach((hash, i) => {
      const parsed = parse(hash);
      if (parsed && parsed.record.status !== 'ended') found.push(parsed);
      else gone.push(ids[i] as string);
    });
    if (gone.length > 0) await this.redis.sRem(this.publicKey, gone);
    await this.checkNodes(found);
    return found.map((p) => p.record).filter((r) => r.status !== 'ended' && !r.orphanedAt);
  }

  async #markAnnounced(streamId: string, seen: AnnouncementSeen): Promise<boolean> {
    const key = this.key(streamId);
    if (!(await this.redis.hExists(key, 'info'))) return false;
    if (!(await this.redis.hSetNX(key, 'announced', JSON.stringify(seen)))) return false;
    await this.redis.multi().persist(key).sAdd(this.publicKey, streamId).exec();
    return true;
  }

  async #markLive(streamId: string, node: string, at: Date): Promise<void> {
    const key = this.key(streamId);
    if (!(await this.redis.hExists(key, 'info'))) return;
    await this.redis
      .multi()
      .hSetNX(key, 'liveAt', at.toISOString())
      .hSet(key, 'node', node)
      .hDel(key, 'orphanedAt')
      .exec();
  }

  async #markEnded(streamId: string, at: Date, keepMs: number): Promise<void> {
    const key = this.key(streamId);
    if (!(await this.redis.hSetNX(key, 'endedAt', at.toISOString()))) return;
    await this.redis.multi().hDel(key, 'node').pExpire(key, keepMs).sRem(this.publicKey, streamId).exec();
  }

  async #adjustViewers(streamId: string, node: string, delta: number): Promise<number> {
    const key = this.key(streamId);
    if (!(await this.redis.hExists(key, 'info'))) return 0;
    await this.redis.hIncrBy(key, `${VIEWERS_FIELD}${node}`, delta);
    const viewers = (await this.#get(streamId))?.viewers ?? 0;
    if (delta > 0) await this.redis.eval(RAISE_PEAK, { keys: [key], arguments: [String(viewers)] });
    return viewers;
  }

  async heartbeat(node: string, ttlMs: number): Promise<void> {
    const sentAt = Date.now();
    await this.redis.set(this.nodeKey(node), '1', { PX: ttlMs });
    const now = Date.now();
    // Renewals come every third of the TTL: one answered late, or long after the previous one, means Redis was away
    // meanwhile, and the other nodes' heartbeats may have lapsed for that reason alone.
    const gapMs = (2 * ttlMs) / 3;
    if (now - this.#lastBeatAt > gapMs || now - sentAt > gapMs) this.#steadySince = now;
    this.#lastBeatAt = now;
    this.#ttlMs = ttlMs;
  }

  /**
   * Whether a node's missing heartbeat means the node is gone: only while this node's own renewals have come without
   * a gap for a TTL plus the longer of a TTL and `RECONNECT_SLACK_MS` (Redis answered throughout, so the other
   * node's renewals would have landed too, even if its client took a longer reconnect backoff than ours).
   */
  #heartbeatsConclusive(): boolean {
    const now = Date.now();
    const gapMs = (2 * this.#ttlMs) / 3;
    const steadyMs = this.#ttlMs + Math.max(this.#ttlMs, RECONNECT_SLACK_MS);
    return this.#ttlMs > 0 && now - this.#lastBeatAt <= gapMs && now - this.#steadySince >= steadyMs;
  }

  async forgetNode(node: string): Promise<void> {
    await this.redis.del(this.nodeKey(node));
  }

  /**
   * Settles the records against the nodes' heartbeats, in place: viewers counted on live nodes only; a live stream
   * whose node is dead is orphaned (the first node to notice starts the grace), ended after the grace, or no longer
   * orphaned once hosted by a live node again.
   */
  private async checkNodes(parsed: Parsed[]): Promise<void> {
    const nodes = new Set<string>();
    for (const { record, viewersByNode } of parsed) {
      if (record.node) nodes.add(record.node);
      for (const node of viewersByNode.keys()) nodes.add(node);
    }
    if (nodes.size === 0) return;
    const ids = [...nodes];
    const multi = this.redis.multi();
    for (const node of ids) multi.exists(this.nodeKey(node));
    const found = (await multi.exec()) as unknown as number[];
    // Right after Redis was away, a lapsed heartbeat says nothing: every node counts as alive until it could renew.
    const beating = new Set(ids.filter((_, i) => found[i] === 1));
    const alive = this.#heartbeatsConclusive() ? beating : new Set(ids);
    const now = new Date();
    for (const { record: r, viewersByNode } of parsed) {
      r.viewers = 0;
      for (const [node, count] of viewersByNode) if (alive.has(node)) r.viewers += Math.max(0, count);
      if (r.status !== 'live' || !r.node) continue;
      const key = this.key(r.streamId);
      if (alive.has(r.node)) {
        // Cleared on a renewed heartbeat, not on the benefit of the doubt.
        if (!beating.has(r.node)) continue;
        if (r.orphanedAt) await this.redis.hDel(key, 'orphanedAt');
        delete r.orphanedAt;
        continue;
      }
      if (!r.orphanedAt) {
        await this.redis.hSetNX(key, 'orphanedAt', now.toISOString());
        r.orphanedAt = (await this.redis.hGet(key, 'orphanedAt')) ?? now.toISOString();
      }
      if (now.getTime() - Date.parse(r.orphanedAt) >= this.orphans.graceMs) {
        await this.#markEnded(r.streamId, now, this.orphans.endedKeepMs);
        r.endedAt = (await this.redis.hGet(key, 'endedAt')) ?? now.toISOString();
        delete r.node;
        r.status = 'ended';
      }
    }
  }
}

function parse(hash: Record<string, string>): Parsed | undefined {
  if (!hash.info) return undefined;
  const { thumbnailCid, terms, ...info } = Info.parse(JSON.parse(hash.info));
  const record: StoredStream = { ...info, status: 'pending', viewers: 0 };
  if (thumbnailCid) record.thumbnailCid = thumbnailCid;
  if (terms) record.terms = terms;
  if (hash.announced) record.announcement = Seen.parse(JSON.parse(hash.announced));
  if (hash.node) record.node = hash.node;
  if (hash.liveAt) record.liveAt = hash.liveAt;
  if (hash.endedAt) record.endedAt = hash.endedAt;
  if (hash.orphanedAt) record.orphanedAt = hash.orphanedAt;
  if (hash.peakViewers) record.peakViewers = Number(hash.peakViewers);
  record.status = statusOf(record);
  const viewersByNode = new Map<string, number>();
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith(VIEWERS_FIELD)) viewersByNode.set(field.slice(VIEWERS_FIELD.length), Number(value));
  }
  return { record, viewersByNode };
}
