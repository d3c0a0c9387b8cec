import type { Asset, StreamPaymentTerms } from '@persecond/contracts-client';

/** What a stream is, fixed at creation (the pinned metadata plus its CID). */
export interface StreamInfo {
  streamId: string;
  creator: string;
  title: string;
  description: string;
  pricePerSecond: bigint;
  asset: Asset;
  metadataCid: string;
  thumbnailCid?: string;
  createdAt: string;
  /** The payment terms the creator chose (also in the metadata document); absent: the node's defaults apply. */
  terms?: StreamPaymentTerms;
}

/** Where the creator's announcement was seen on chain. */
export interface AnnouncementSeen {
  blockHash: string;
  blockNumber: number;
  extrinsicHash: string;
}

/** `pending` until announced on chain, then `announced` → `live` (goLive) → `ended`. */
export type StreamStatus = 'pending' | 'announced' | 'live' | 'ended';

/** A stream and its lifecycle state as the directory holds it. */
export interface StoredStream extends StreamInfo {
  status: StreamStatus;
  announcement?: AnnouncementSeen;
  /** Id of the signaling node hosting the stream's room while live. */
  node?: string;
  liveAt?: string;
  endedAt?: string;
  /** When a node first found the hosting node gone (heartbeat expired); cleared when the stream is hosted again. */
  orphanedAt?: string;
  viewers: number;
  /** Most viewers counted at once (kept by `adjustViewers`), once any joined. */
  peakViewers?: number;
}

/** A stream as the other modules see it (`StreamsModule.get`): its terms always set, the node's defaults filled in. */
export interface StreamRecord extends StoredStream {
  terms: StreamPaymentTerms;
}

/**
 * The stream directory. Every lifecycle step writes its own field, so nodes updating the same stream at once
 * (several watchers seeing one announcement, a goLive racing it) never overwrite each other.
 */
export interface StreamStore {
  /** Adds a pending stream, forgotten after `pendingTtlMs` unless announced. */
  create(info: StreamInfo, pendingTtlMs: number): Promise<void>;
  get(streamId: string): Promise<StoredStream | undefined>;
  /** Public streams: announced and not ended. */
  listPublic(): Promise<StoredStream[]>;
  /** Records the announcement; true only the first time. */
  markAnnounced(streamId: string, seen: AnnouncementSeen): Promise<boolean>;
  markLive(streamId: string, node: string, at: Date): Promise<void>;
  /** Ends the stream for good; it stays readable for `keepMs`. */
  markEnded(streamId: string, at: Date, keepMs: number): Promise<void>;
  /**
   * Adds `delta` to the count of viewers `node` serves and raises the stream's peak to the new count when above it;
   * returns the stream's new count (0 for an unknown stream).
   */
  adjustViewers(streamId: string, node: string, delta: number): Promise<number>;
  /**
   * Sets the count of viewers `node` serves to `count` (a node putting its count right after changes it could not
   * write, e.g. while Redis was away); nothing for an unknown stream.
   */
  setViewers(streamId: string, node: string, count: number): Promise<void>;
  /** Says `node` is alive for the next `ttlMs`; the live streams of a node that stops saying so are orphaned. */
  heartbeat(node: string, ttlMs: number): Promise<void>;
  /** Withdraws `node`'s heartbeat at once (clean shutdown). */
  forgetNode(node: string): Promise<void>;
}

/** Status implied by the lifecycle fields. */
export function statusOf(r: Pick<StoredStream, 'announcement' | 'liveAt' | 'endedAt'>): StreamStatus {
  if (r.endedAt) return 'ended';
  if (r.liveAt) return 'live';
  return r.announcement ? 'announced' : 'pending';
}
