import { sql } from 'drizzle-orm';
import { bigint, check, index, jsonb, numeric, pgSchema, text, timestamp } from 'drizzle-orm/pg-core';

/** The ledger's own PostgreSQL schema, so it can share a database with the indexer. */
export const signaling = pgSchema('signaling');

/** `active` while the viewer may tick; `closed` after leave (a later join with the same session reopens it). */
export const sessionStatus = signaling.enum('session_status', ['active', 'closed']);

/** What a session pays for: the stream live, or its recorded replay (the creator's earnings by kind). */
export const sessionKind = signaling.enum('session_kind', ['live', 'replay']);

/** `pending` while its block is only in the best chain; `final` once finalized (then it never changes). */
export const creditStatus = signaling.enum('credit_status', ['pending', 'final']);

/** Money: planck, exact, up to 39 digits (u128 fits). */
const planck = (name: string) => numeric(name, { precision: 39, scale: 0, mode: 'bigint' });

const timestamps = {
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
};

/** Where a record seen on chain sits, and whether its block is final yet. */
const onChain = () => ({
  status: creditStatus('status').notNull().default('pending'),
  blockNumber: bigint('block_number', { mode: 'number' }).notNull(),
  blockHash: text('block_hash').notNull(),
  ...timestamps,
});

/** One paying viewer session (one session key, one budget, one stream). */
export const viewerSessions = signaling.table(
  'viewer_sessions',
  {
    sessionId: text('session_id').primaryKey(),
    streamId: text('stream_id').notNull(),
    /** The wallet that delegated the session key (debts are per wallet). */
    wallet: text('wallet').notNull(),
    /** The session key's account, the only payer whose settlements count (debts are also per session account). */
    sessionAccount: text('session_account').notNull(),
    /** The stream's creator, the only payee whose settlements count. */
    creator: text('creator').notNull(),
    /** `native` or an assets-pallet id as decimal text. */
    asset: text('asset').notNull(),
    pricePerSecond: planck('price_per_second').notNull(),
    budget: planck('budget').notNull(),
    kind: sessionKind('kind').notNull().default('live'),
    status: sessionStatus('status').notNull().default('active'),
    watchedSeconds: bigint('watched_seconds', { mode: 'number' }).notNull().default(0),
    /** Sequence number of the last recorded tick (0 before the first). */
    lastSeq: bigint('last_seq', { mode: 'number' }).notNull().default(0),
    /** watchedSeconds × pricePerSecond, kept for debt queries. */
    owed: planck('owed').notNull().default(sql`0`),
    /** `owed` of the highest valid voucher. */
    acknowledged: planck('acknowledged').notNull().default(sql`0`),
    /** Sequence number of that voucher. */
    acknowledgedSeq: bigint('acknowledged_seq', { mode: 'number' }).notNull().default(0),
    settledPending: planck('settled_pending').notNull().default(sql`0`),
    settledFinal: planck('settled_final').notNull().default(sql`0`),
    ...timestamps,
  },
  (t) => [
    index('viewer_sessions_wallet_idx').on(t.wallet),
    index('viewer_sessions_session_account_idx').on(t.sessionAccount),
    index('viewer_sessions_stream_idx').on(t.streamId),
    check('viewer_sessions_owed_exact', sql`${t.owed} = ${t.watchedSeconds} * ${t.pricePerSecond}`),
    check('viewer_sessions_acknowledged_bounded', sql`${t.acknowledged} >= 0 and ${t.acknowledged} <= ${t.owed}`),
    check('viewer_sessions_amounts_nonnegative', sql`${t.pricePerSecond} >= 0 and ${t.budget} >= 0`),
    check('viewer_sessions_settled_nonnegative', sql`${t.settledPending} >= 0 and ${t.settledFinal} >= 0`),
  ],
);

/** Settlements credited to sessions; ids come from the chain (`<blockHash>:<extrinsicIndex>:<eventIndex>`). */
export const settlementCredits = signaling.table(
  'settlement_credits',
  {
    id: text('id').primaryKey(),
    sessionId: text('session_id')
      .notNull()
      .references(() => viewerSessions.sessionId),
    amount: planck('amount').notNull(),
    ...onChain(),
  },
  (t) => [
    index('settlement_credits_session_idx').on(t.sessionId),
    index('settlement_credits_block_idx').on(t.blockHash),
    check('settlement_credits_amount_nonnegative', sql`${t.amount} >= 0`),
  ],
);

/**
 * Fundings seen on chain (`ps1:fund:<sessionId>` transfers from a wallet to a session account), recorded for any
 * session id, opened or not: admission reads them. Ids come from the chain, as for settlement credits.
 */
export const sessionFundings = signaling.table(
  'session_fundings',
  {
    id: text('id').primaryKey(),
    sessionId: text('session_id').notNull(),
    /** The wallet that signed the funding. */
    wallet: text('wallet').notNull(),
    /** The account funded (the session key's account). */
    sessionAccount: text('session_account').notNull(),
    /** `native` or an assets-pallet id as decimal text. */
    asset: text('asset').notNull(),
    amount: planck('amount').notNull(),
    ...onChain(),
  },
  (t) => [
    index('session_fundings_session_idx').on(t.sessionId),
    index('session_fundings_block_idx').on(t.blockHash),
    check('session_fundings_amount_nonnegative', sql`${t.amount} >= 0`),
  ],
);

/**
 * Chain events the ledger could not apply (e.g. a credit that would take a session's settled total past u128): kept
 * here with the error instead of stopping the watcher, so no event stops the money path for others. `status` is the
 * delivery (pending or final) that failed last.
 */
export const quarantinedEvents = signaling.table(
  'quarantined_events',
  {
    /** The event's chain id `<blockHash>:<extrinsicIndex>:<eventIndex>`. */
    id: text('id').primaryKey(),
    /** `settlement` or `funding`. */
    kind: text('kind').notNull(),
    sessionId: text('session_id').notNull(),
    /** The decoded event, amounts as decimal strings. */
    payload: jsonb('payload').notNull(),
    error: text('error').notNull(),
    ...onChain(),
  },
  (t) => [
    index('quarantined_events_session_idx').on(t.sessionId),
    index('quarantined_events_block_idx').on(t.blockHash),
  ],
);

/** Where the settlement watcher stopped (last final block credited), so a restart resumes there. */
export const watcherCursor = signaling.table('watcher_cursor', {
  id: text('id').primaryKey(),
  /** The chain the cursor belongs to; a cursor of another chain is not resumed from. */
  genesisHash: text('genesis_hash').notNull(),
  blockNumber: bigint('block_number', { mode: 'number' }).notNull(),
  blockHash: text('block_hash').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});
