import type { AnnouncementSeen, StoredStream, StreamInfo, StreamStore } from './StreamStore.ts';
import { statusOf } from './StreamStore.ts';

interface Entry {
  info: StreamInfo;
  announcement?: AnnouncementSeen;
  node?: string;
  liveAt?: string;
  endedAt?: string;
  viewers: number;
  peakViewers?: number;
  /** Epoch ms after which the entry is forgotten (pending and ended streams only). */
  expiresAt?: number;
}

/** The directory of one node, in memory. */
export class MemoryStreamStore implements StreamStore {
  private readonly entries = new Map<string, Entry>();

  async create(info: StreamInfo, pendingTtlMs: number): Promise<void> {
    this.sweep();
    this.entries.set(info.streamId, { info, viewers: 0, expiresAt: Date.now() + pendingTtlMs });
  }

  async get(streamId: string): Promise<StoredStream | undefined> {
    const entry = this.live(streamId);
    return entry ? toRecord(entry) : undefined;
  }

  async listPublic(): Promise<StoredStream[]> {
    this.sweep();
    return [...this.entries.values()].filter((e) => e.announcement && !e.endedAt).map(toRecord);
  }

  async markAnnounced(streamId: string, seen: AnnouncementSeen): Promise<boolean> {
    const entry = this.live(streamId);
    if (!entry || entry.announcement) return false;
    entry.announcement = seen;
    delete entry.expiresAt;
    return true;
  }

  async markLive(streamId: string, node: string, at: Date): Promise<void> {
    const entry = this.live(streamId);
    if (!entry) return;
    entry.node = node;
    entry.liveAt ??= at.toISOString();
  }

  async markEnded(streamId: string, at: Date, keepMs: number): Promise<void> {
    const entry = this.live(streamId);
    if (!entry || entry.endedAt) return;
    entry.endedAt = at.toISOString();
    delete entry.node;
    entry.expiresAt = at.getTime() + keepMs;
  }

  async adjustViewers(streamId: string, _node: string, delta: number): Promise<number> {
    const entry = this.live(streamId);
    if (!entry) return 0;
    entry.viewers = Math.max(0, entry.viewers + delta);
    if (entry.viewers > (entry.peakViewers ?? 0)) entry.peakViewers = entry.viewers;
    return entry.viewers;
  }

  async setViewers(streamId: string, _node: string, count: number): Promise<void> {
    const entry = this.live(streamId);
    if (entry) entry.viewers = Math.max(0, count);
  }

  // One node holds this directory and dies with it: no other node to outlive.
  async heartbeat(): Promise<void> {}

  async forgetNode(): Promise<void> {}

  private live(streamId: string): Entry | undefined {
    const entry = this.entries.get(streamId);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.entries.delete(streamId);
      return undefined;
    }
    return entry;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, entry] of this.entries)
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.entries.delete(id);
  }
}

function toRecord(e: Entry): StoredStream {
  const record: StoredStream = { ...e.info, status: statusOf(e), viewers: e.viewers };
  if (e.announcement) record.announcement = e.announcement;
  if (e.node) record.node = e.node;
  if (e.liveAt) record.liveAt = e.liveAt;
  if (e.endedAt) record.endedAt = e.endedAt;
  if (e.peakViewers !== undefined) record.peakViewers = e.peakViewers;
  return record;
}
