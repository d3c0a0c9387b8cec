import { and, desc, eq, lt, or } from 'drizzle-orm';
import type { Db } from './database.ts';
import { type Bucket, type Earnings, earningsOf } from './earnings.ts';
import { settlements, streamMetadata, streams } from './schema.ts';

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

/** The read side of the earnings API. */
export class Queries {
  constructor(readonly db: Db) {}

  /** A creator's earnings between `from` (inclusive) and `to` (exclusive). */
  creatorEarnings(creator: string, from: Date, to: Date, bucket: Bucket): Promise<Earnings> {
    return earningsOf(this.db, { creator }, from, to, bucket);
  }

  /** One stream's earnings between `from` (inclusive) and `to` (exclusive). */
  streamEarnings(streamId: string, from: Date, to: Date, bucket: Bucket): Promise<Earnings> {
    return earningsOf(this.db, { streamId }, from, to, bucket);
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
