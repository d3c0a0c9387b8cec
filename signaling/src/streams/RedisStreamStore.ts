import type { createClient } from 'redis';
import { z } from 'zod';
import {
  type AnnouncementSeen,
  type StreamInfo,
  type StreamRecord,
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
});

const Seen = z.object({ blockHash: z.string(), blockNumber: z.number().int(), extrinsicHash: z.string() });

/**
 * The directory shared by every node of a deployment: one Redis hash per stream (`info`, `announced`, `liveAt`,
 * `node`, `endedAt`, `viewers`, each written on its own) and a set of the public stream ids.
 */
export class RedisStreamStore implements StreamStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(streamId: string): string {
    return `${this.prefix}stream:${streamId}`;
  }

  private get publicKey(): string {
    return `${this.prefix}public`;
  }

  async create(info: StreamInfo, pendingTtlMs: number): Promise<void> {
    const key = this.key(info.streamId);
    const json = JSON.stringify({ ...info, pricePerSecond: info.pricePerSecond.toString() });
    await this.redis.multi().hSet(key, { info: json, viewers: '0' }).pExpire(key, pendingTtlMs).exec();
  }

  async get(streamId: string): Promise<StreamRecord | undefined> {
    return toRecord(await this.redis.hGetAll(this.key(streamId)));
  }

  async listPublic(): Promise<StreamRecord[]> {
    const ids = await this.redis.sMembers(this.publicKey);
    if (ids.length === 0) return [];
    const multi = this.redis.multi();
    for (const id of ids) multi.hGetAll(this.key(id));
    const hashes = (await multi.exec()) as unknown as Record<string, string>[];
    const records: StreamRecord[] = [];
    const gone: string[] = [];
    hashes.forEach((hash, i) => {
      const record = toRecord(hash);
      if (record && record.status !== 'ended') records.push(record);
      else gone.push(ids[i] as string);
    });
    if (gone.length > 0) await this.redis.sRem(this.publicKey, gone);
    return records;
  }

  async markAnnounced(streamId: string, seen: AnnouncementSeen): Promise<boolean> {
    const key = this.key(streamId);
    if (!(await this.redis.hExists(key, 'info'))) return false;
    if (!(await this.redis.hSetNX(key, 'announced', JSON.stringify(seen)))) return false;
    await this.redis.multi().persist(key).sAdd(this.publicKey, streamId).exec();
    return true;
  }

  async markLive(streamId: string, node: string, at: Date): Promise<void> {
    const key = this.key(streamId);
    if (!(await this.redis.hExists(key, 'info'))) return;
    await this.redis.multi().hSetNX(key, 'liveAt', at.toISOString()).hSet(key, 'node', node).exec();
  }

  async markEnded(streamId: string, at: Date, keepMs: number): Promise<void> {
    const key = this.key(streamId);
    if (!(await this.redis.hSetNX(key, 'endedAt', at.toISOString()))) return;
    await this.redis.multi().hDel(key, 'node').pExpire(key, keepMs).sRem(this.publicKey, streamId).exec();
  }

  async adjustViewers(streamId: string, delta: number): Promise<number> {
    const key = this.key(streamId);
    if (!(await this.redis.hExists(key, 'info'))) return 0;
    return Math.max(0, await this.redis.hIncrBy(key, 'viewers', delta));
  }
}

function toRecord(hash: Record<string, string>): StreamRecord | undefined {
  if (!hash.info) return undefined;
  const { thumbnailCid, ...info } = Info.parse(JSON.parse(hash.info));
  const record: StreamRecord = { ...info, status: 'pending', viewers: Math.max(0, Number(hash.viewers ?? 0)) };
  if (thumbnailCid) record.thumbnailCid = thumbnailCid;
  if (hash.announced) record.announcement = Seen.parse(JSON.parse(hash.announced));
  if (hash.node) record.node = hash.node;
  if (hash.liveAt) record.liveAt = hash.liveAt;
  if (hash.endedAt) record.endedAt = hash.endedAt;
  record.status = statusOf(record);
  return record;
}
