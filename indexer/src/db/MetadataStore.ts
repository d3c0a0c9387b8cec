import type { StreamMetadata, StreamMetadataDocument } from '@persecond/contracts-client/metadata';
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import { and, asc, eq, isNull, lte, min, or, sql } from 'drizzle-orm';
import type { Db } from './database.ts';
import { streamMetadata, streams } from './schema.ts';

/** A failed attempt: its stable code and message, and when to try again (undefined: never). */
export interface MetadataFailure {
  code: string;
  message: string;
  retryAt: Date | undefined;
}

/** The stream_metadata table: which announced CIDs still need fetching, and the outcome of each attempt. */
export class MetadataStore {
  constructor(
    readonly db: Db,
    /** Address format the metadata creator is stored in (the announcing account's format). */
    readonly ss58: number,
  ) {}

  /** Announced CIDs never tried, or unavailable ones whose retry time has come; oldest announcement first. */
  async due(now: Date, limit: number): Promise<string[]> {
    const rows = await this.db
      .select({ cid: streams.metadataCid, first: min(streams.blockNumber) })
      .from(streams)
      .leftJoin(streamMetadata, eq(streamMetadata.cid, streams.metadataCid))
      .where(
        or(
          isNull(streamMetadata.cid),
          and(eq(streamMetadata.state, 'unavailable'), lte(streamMetadata.nextAttemptAt, now)),
        ),
      )
      .groupBy(streams.metadataCid)
      .orderBy(asc(min(streams.blockNumber)), asc(streams.metadataCid))
      .limit(limit);
    return rows.map((r) => r.cid);
  }

  /** The earliest retry time of an unavailable CID, if any. */
  async nextRetry(): Promise<Date | undefined> {
    const [row] = await this.db
      .select({ at: min(streamMetadata.nextAttemptAt) })
      .from(streamMetadata)
      .where(eq(streamMetadata.state, 'unavailable'));
    return row?.at ? new Date(row.at) : undefined;
  }

  /** Stores a validated document. */
  async markFetched(cid: string, meta: StreamMetadata, document: StreamMetadataDocument, now: Date): Promise<void> {
    const values = {
      state: 'fetched' as const,
      metadata: document,
      title: meta.title,
      creator: encodeAddress(decodeAddress(meta.creator), this.ss58),
      pricePerSecond: meta.pricePerSecond,
      asset: meta.asset === 'native' ? 'native' : String(meta.asset),
      errorCode: null,
      error: null,
      lastAttemptAt: now,
      nextAttemptAt: null,
      fetchedAt: now,
    };
    await this.#attempted(cid, values);
  }

  /** Records a failed attempt: `unavailable` with a retry time, or `invalid` for good. */
  async markFailed(cid: string, failure: MetadataFailure, now: Date): Promise<void> {
    const values = {
      state: failure.retryAt ? ('unavailable' as const) : ('invalid' as const),
      errorCode: failure.code,
      error: failure.message.slice(0, 1000),
      lastAttemptAt: now,
      nextAttemptAt: failure.retryAt ?? null,
    };
    await this.#attempted(cid, values);
  }

  /** Attempts made so far for `cid` (0 when never tried). */
  async attempts(cid: string): Promise<number> {
    const [row] = await this.db
      .select({ attempts: streamMetadata.attempts })
      .from(streamMetadata)
      .where(eq(streamMetadata.cid, cid));
    return row?.attempts ?? 0;
  }

  /** Writes an attempt's outcome for `cid`, counting the attempt (the first one inserts the row). */
  async #attempted(cid: string, values: Omit<typeof streamMetadata.$inferInsert, 'cid' | 'attempts'>): Promise<void> {
    await this.db
      .insert(streamMetadata)
      .values({ cid, attempts: 1, ...values })
      .onConflictDoUpdate({
        target: streamMetadata.cid,
        set: { ...values, attempts: sql`${streamMetadata.attempts} + 1` },
      });
  }
}
