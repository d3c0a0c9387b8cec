import { and, desc, eq, gte, lt, or, type SQL, sql } from 'drizzle-orm';
import type { Db } from './database.ts';
import { settlements, streamMetadata, streams } from './schema.ts';

/** Time buckets of the earnings API. */
export type Bucket = 'hour' | 'day';

/** Pending and final planck, per asset. */
export interface AssetAmounts {
  asset: string;
  pending: bigint;
  final: bigint;
}

/** One stream's amounts in one asset. */
export interface StreamAmounts extends AssetAmounts {
  streamId: string;
}

/** Earnings in one time bucket. */
export interface EarningsBucket {
  start: Date;
  totals: AssetAmounts[];
  streams: StreamAmounts[];
}

/** Earnings over a time range: overall, per stream and per bucket. */
export interface Earnings {
  totals: AssetAmounts[];
  streams: StreamAmounts[];
  buckets: EarningsBucket[];
}

/** A stream announcement with its metadata when fetched. */
export interface StreamView {
  streamId: string;
  creator: string;
  metadataCid: string;
  announcedAt: Date;
  blockNumber: number;
  blockHash: string;
  status: 'pending' | 'final';
  /** `pending` until the first fetch attempt, then the fetcher's outcome. */
  metadataStatus: 'pending' | 'fetched' | 'invalid' | 'unavailable';
  /** Why the metadata is invalid or unavailable (stable code and message); null otherwise. */
  metadataError: { code: string; message: string; attempts: number; nextAttemptAt: Date | null } | null;
  metadata: {
    title: string | null;
    pricePerSecond: bigint | null;
    asset: string | null;
    /** The creator named in the metadata. */
    creator: string | null;
    /** The creator named in the metadata is the account that announced the stream. */
    creatorMatches: boolean;
    document: unknown;
  } | null;
}

/** A settlement row as the API returns it. */
export type SettlementView = typeof settlements.$inferSelect;

/** Keyset position in the settlements listing (newest first). */
export interface SettlementsCursor {
  blockNumber: number;
  id: string;
}

interface Row {
  start: Date;
  streamId: string;
  asset: string;
  status: 'pending' | 'final';
  amount: bigint;
}

function add(list: AssetAmounts[], asset: string, status: 'pending' | 'final', amount: bigint): void;
function add(list: StreamAmounts[], asset: string, status: 'pending' | 'final', amount: bigint, streamId: string): void;
function add(
  list: Array<AssetAmounts & { streamId?: string }>,
  asset: string,
  status: 'pending' | 'final',
  amount: bigint,
  streamId?: string,
): void {
  let entry = list.find((e) => e.asset === asset && e.streamId === streamId);
  if (!entry) {
    entry = streamId === undefined ? { asset, pending: 0n, final: 0n } : { streamId, asset, pending: 0n, final: 0n };
    list.push(entry);
  }
  entry[status] += amount;
}

/** Folds (bucket, stream, asset, status) sums into totals, per-stream and per-bucket amounts. */
function fold(rows: Row[]): Earnings {
  const out: Earnings = { totals: [], streams: [], buckets: [] };
  const byStart = new Map<number, EarningsBucket>();
  for (const r of rows) {
    add(out.totals, r.asset, r.status, r.amount);
    add(out.streams, r.asset, r.status, r.amount, r.streamId);
    let bucket = byStart.get(r.start.getTime());
    if (!bucket) {
      bucket = { start: r.start, totals: [], streams: [] };
      byStart.set(r.start.getTime(), bucket);
      out.buckets.push(bucket);
    }
    add(bucket.totals, r.asset, r.status, r.amount);
    add(bucket.streams, r.asset, r.status, r.amount, r.streamId);
  }
  out.buckets.sort((a, b) => a.start.getTime() - b.start.getTime());
  const order = (a: StreamAmounts, b: StreamAmounts) =>
    a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : a.asset < b.asset ? -1 : a.asset > b.asset ? 1 : 0;
  out.streams.sort(order);
  for (const b of out.buckets) b.streams.sort(order);
  return out;
}

/** The read side of the earnings API. */
export class Queries {
  constructor(readonly db: Db) {}

  async #earnings(where: SQL, from: Date, to: Date, bucket: Bucket): Promise<Earnings> {
    // date_trunc with an explicit zone: buckets are UTC whatever the server's TimeZone setting.
    const start = sql<Date>`date_trunc(${bucket}, ${settlements.blockTime}, 'UTC')`.mapWith(settlements.blockTime);
    const rows = await this.db
      .select({
        start,
        streamId: settlements.streamId,
        asset: settlements.asset,
        status: settlements.status,
        amount: sql<bigint>`sum(${settlements.amount})`.mapWith(settlements.amount),
      })
      .from(settlements)
      .where(and(where, gte(settlements.blockTime, from), lt(settlements.blockTime, to)))
      .groupBy(sql`1`, settlements.streamId, settlements.asset, settlements.status);
    return fold(rows);
  }

  /** A creator's earnings between `from` (inclusive) and `to` (exclusive). */
  creatorEarnings(creator: string, from: Date, to: Date, bucket: Bucket): Promise<Earnings> {
    return this.#earnings(eq(settlements.creator, creator), from, to, bucket);
  }

  /** One stream's earnings between `from` (inclusive) and `to` (exclusive). */
  streamEarnings(streamId: string, from: Date, to: Date, bucket: Bucket): Promise<Earnings> {
    return this.#earnings(eq(settlements.streamId, streamId), from, to, bucket);
  }

  /** Announced streams, newest first, optionally of one creator. */
  async listStreams(opts: { creator?: string | undefined; limit: number }): Promise<StreamView[]> {
    const rows = await this.#streamRows()
      .where(opts.creator === undefined ? undefined : eq(streams.creator, opts.creator))
      .orderBy(desc(streams.blockNumber), desc(streams.id))
      .limit(opts.limit);
    return rows.map(toStreamView);
  }

  /** One stream by its protocol id. */
  async getStream(streamId: string): Promise<StreamView | undefined> {
    const [row] = await this.#streamRows().where(eq(streams.streamId, streamId));
    return row ? toStreamView(row) : undefined;
  }

  #streamRows() {
    return this.db
      .select({ stream: streams, meta: streamMetadata })
      .from(streams)
      .leftJoin(streamMetadata, eq(streamMetadata.cid, streams.metadataCid))
      .$dynamic();
  }

  /** Settlements newest first (block, then id), after `cursor` when given; returns one page and the next cursor. */
  async listSettlements(opts: {
    creator?: string | undefined;
    streamId?: string | undefined;
    cursor?: SettlementsCursor | undefined;
    limit: number;
  }): Promise<{ items: SettlementView[]; next: SettlementsCursor | null }> {
    const c = opts.cursor;
    const rows = await this.db
      .select()
      .from(settlements)
      .where(
        and(
          opts.creator === undefined ? undefined : eq(settlements.creator, opts.creator),
          opts.streamId === undefined ? undefined : eq(settlements.streamId, opts.streamId),
          c === undefined
            ? undefined
            : or(
                lt(settlements.blockNumber, c.blockNumber),
                and(eq(settlements.blockNumber, c.blockNumber), lt(settlements.id, c.id)),
              ),
        ),
      )
      .orderBy(desc(settlements.blockNumber), desc(settlements.id))
      .limit(opts.limit + 1);
    const items = rows.slice(0, opts.limit);
    const last = items.at(-1);
    return {
      items,
      next: rows.length > opts.limit && last ? { blockNumber: last.blockNumber, id: last.id } : null,
    };
  }
}

function toStreamView(row: {
  stream: typeof streams.$inferSelect;
  meta: typeof streamMetadata.$inferSelect | null;
}): StreamView {
  const { stream, meta } = row;
  return {
    streamId: stream.streamId,
    creator: stream.creator,
    metadataCid: stream.metadataCid,
    announcedAt: stream.blockTime,
    blockNumber: stream.blockNumber,
    blockHash: stream.blockHash,
    status: stream.status,
    metadataStatus: meta?.state ?? 'pending',
    metadataError:
      meta && meta.state !== 'fetched'
        ? {
            code: meta.errorCode ?? 'UNKNOWN',
            message: meta.error ?? '',
            attempts: meta.attempts,
            nextAttemptAt: meta.nextAttemptAt,
          }
        : null,
    metadata:
      meta?.state !== 'fetched'
        ? null
        : {
            title: meta.title,
            pricePerSecond: meta.pricePerSecond,
            asset: meta.asset,
            creator: meta.creator,
            creatorMatches: meta.creator === stream.creator,
            document: meta.metadata,
          },
  };
}
