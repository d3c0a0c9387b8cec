import type { Asset, StreamPaymentTerms } from '@persecond/contracts-client';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { canonicalAccount } from '../ledger/accounts.ts';
import type { Ledger } from '../ledger/Ledger.ts';
import { assetOf, assetText } from '../ledger/rows.ts';
import { replays, replayWatched } from './schema.ts';

/** What a stream's replay is sold under (fixed when the stream goes live, its price at each `stream:goLive`). */
export interface ReplayTerms {
  streamId: string;
  creator: string;
  title: string;
  asset: Asset;
  /** The replay's price per second. */
  pricePerSecond: bigint;
  livePricePerSecond: bigint;
  terms: StreamPaymentTerms;
}

/** A stored replay: its terms, when it was made, and whether its creator deleted it. */
export interface StoredReplay extends ReplayTerms {
  createdAt: Date;
  deletedAt: Date | null;
}

/** Rows a statement inserts at most (PostgreSQL takes at most 65,535 parameters). */
const INSERT_CHUNK = 1_000;

/** How many replays a listing answers at most. */
export const REPLAY_LIST_MAX = 100;

/** The replays' terms in the ledger's database (`signaling.replays`); the recordings are the SFU's files. */
export class ReplayStore {
  constructor(private readonly ledger: Ledger) {}

  /**
   * Writes a stream's replay terms when it goes live: the first time in full, later (going live again) only a new
   * replay price when one is given. A deleted replay stays deleted.
   */
  async save(t: ReplayTerms, priceChosen: boolean): Promise<void> {
    const values = {
      streamId: t.streamId,
      creator: canonicalAccount(t.creator),
      title: t.title,
      asset: assetText(t.asset),
      pricePerSecond: t.pricePerSecond,
      livePricePerSecond: t.livePricePerSecond,
      settleEverySeconds: t.terms.settleEverySeconds,
      payAhead: t.terms.payAhead,
    };
    await this.ledger.use((db) => {
      const insert = db.insert(replays).values(values);
      return priceChosen
        ? insert.onConflictDoUpdate({
            target: replays.streamId,
            set: { pricePerSecond: sql`excluded.price_per_second` },
          })
        : insert.onConflictDoNothing();
    });
  }

  /** A stream's replay, deleted or not. */
  async get(streamId: string): Promise<StoredReplay | undefined> {
    const [row] = await this.ledger.use((db) => db.select().from(replays).where(eq(replays.streamId, streamId)));
    return row && toReplay(row);
  }

  /** Replays not deleted, newest first: all of them, or one creator's. */
  async list(creator?: string): Promise<StoredReplay[]> {
    const live = isNull(replays.deletedAt);
    const rows = await this.ledger.use((db) =>
      db
        .select()
        .from(replays)
        .where(creator === undefined ? live : and(eq(replays.creator, canonicalAccount(creator)), live))
        .orderBy(desc(replays.createdAt))
        .limit(REPLAY_LIST_MAX),
    );
    return rows.map(toReplay);
  }

  /** Keeps segment numbers delivered to replay sessions (before they are charged); numbers kept already stay. */
  async keepWatched(rows: readonly { sessionId: string; seq: number }[]): Promise<void> {
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const chunk = rows.slice(i, i + INSERT_CHUNK);
      await this.ledger.use((db) => db.insert(replayWatched).values(chunk).onConflictDoNothing());
    }
  }

  /** The segment numbers a replay session was charged for. */
  async watchedOf(sessionId: string): Promise<number[]> {
    const rows = await this.ledger.use((db) =>
      db.select({ seq: replayWatched.seq }).from(replayWatched).where(eq(replayWatched.sessionId, sessionId)),
    );
    return rows.map((r) => r.seq);
  }

  /** Marks the replay deleted (idempotent: the first deletion's time is kept); false when there is none. */
  async markDeleted(streamId: string, at = new Date()): Promise<boolean> {
    const rows = await this.ledger.use((db) =>
      db
        .update(replays)
        .set({ deletedAt: sql`coalesce(${replays.deletedAt}, ${at})` })
        .where(eq(replays.streamId, streamId))
        .returning({ streamId: replays.streamId }),
    );
    return rows.length > 0;
  }
}

function toReplay(row: typeof replays.$inferSelect): StoredReplay {
  return {
    streamId: row.streamId,
    creator: row.creator,
    title: row.title,
    asset: assetOf(row.asset),
    pricePerSecond: row.pricePerSecond,
    livePricePerSecond: row.livePricePerSecond,
    terms: { settleEverySeconds: row.settleEverySeconds, payAhead: row.payAhead },
    createdAt: row.createdAt,
    deletedAt: row.deletedAt,
  };
}
