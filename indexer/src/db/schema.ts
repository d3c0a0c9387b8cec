import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, jsonb, numeric, pgEnum, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** `pending` while the block is only in the best chain; `final` once finalized (final rows never change). */
export const rowStatus = pgEnum('row_status', ['pending', 'final']);

/** What a `sessions` row records: the wallet funding a session account, or the session account sweeping back. */
export const sessionEventKind = pgEnum('session_event_kind', ['fund', 'refund']);

/** What a settlement pays for: the stream live (`ps1:pay`) or its recorded replay (`ps1:replay`). */
export const settlementKind = pgEnum('settlement_kind', ['live', 'replay']);

/**
 * Outcome of fetching a metadata CID: `fetched` (valid document), `invalid` (verified content that is not a valid
 * document; never retried), `unavailable` (not obtained or not verifiable yet; retried with back-off).
 */
export const metadataState = pgEnum('metadata_state', ['fetched', 'invalid', 'unavailable']);

/** Money: planck, exact, up to 39 digits (u128 fits). */
const planck = (name: string) => numeric(name, { precision: 39, scale: 0, mode: 'bigint' });

/** Where a row came from on chain; repeated in every chain-derived table so pending rows can be dropped by block. */
const chainRef = {
  blockNumber: bigint('block_number', { mode: 'number' }).notNull(),
  blockHash: text('block_hash').notNull(),
  extrinsicIndex: integer('extrinsic_index').notNull(),
  eventIndex: integer('event_index').notNull(),
  extrinsicHash: text('extrinsic_hash').notNull(),
  blockTime: timestamp('block_time', { withTimezone: true, mode: 'date' }).notNull(),
  status: rowStatus('status').notNull().default('pending'),
};

/** Every block the indexer has written, on its current view of the canonical chain. */
export const blocks = pgTable(
  'blocks',
  {
    number: bigint('number', { mode: 'number' }).primaryKey(),
    hash: text('hash').notNull().unique(),
    parentHash: text('parent_hash').notNull(),
    blockTime: timestamp('block_time', { withTimezone: true, mode: 'date' }).notNull(),
    status: rowStatus('status').notNull().default('pending'),
  },
  (t) => [index('blocks_status_idx').on(t.status, t.number)],
);

/** Stream announcements (`ps1:stream:<streamId>:<cid>`); the first announcement of a stream id wins. */
export const streams = pgTable(
  'streams',
  {
    /** `<blockHash>:<extrinsicIndex>:<eventIndex>` of the Remarked event. */
    id: text('id').primaryKey(),
    streamId: text('stream_id').notNull().unique(),
    creator: text('creator').notNull(),
    metadataCid: text('metadata_cid').notNull(),
    ...chainRef,
  },
  (t) => [
    index('streams_creator_idx').on(t.creator),
    index('streams_cid_idx').on(t.metadataCid),
    index('streams_block_idx').on(t.blockNumber),
  ],
);

/** Stream metadata fetched from IPFS; keyed by CID because content at a CID never changes. No row: not tried yet. */
export const streamMetadata = pgTable(
  'stream_metadata',
  {
    cid: text('cid').primaryKey(),
    state: metadataState('state').notNull(),
    /** The validated metadata document (as stored on IPFS); null unless fetched. */
    metadata: jsonb('metadata'),
    title: text('title'),
    /** Creator named inside the metadata (in the indexer's SS58 format); compared with the announcing account. */
    creator: text('creator'),
    pricePerSecond: planck('price_per_second'),
    /** `native` or an assets-pallet id as a decimal string. */
    asset: text('asset'),
    attempts: integer('attempts').notNull().default(0),
    /** Stable code of the last failure (e.g. `BLOCK_MISMATCH`, `METADATA_INVALID`); null once fetched. */
    errorCode: text('error_code'),
    error: text('error'),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true, mode: 'date' }),
    /** When an `unavailable` CID is tried again; null for final states. */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }),
    fetchedAt: timestamp('fetched_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('stream_metadata_retry_idx').on(t.state, t.nextAttemptAt)],
);

/** Session budget movements: fundings (`ps1:fund`) and refunds (`transferAll` back to the wallet). */
export const sessions = pgTable(
  'sessions',
  {
    /** `<blockHash>:<extrinsicIndex>:<eventIndex>` of the transfer event. */
    id: text('id').primaryKey(),
    kind: sessionEventKind('kind').notNull(),
    sessionId: text('session_id').notNull(),
    wallet: text('wallet').notNull(),
    sessionAccount: text('session_account').notNull(),
    asset: text('asset').notNull(),
    amount: planck('amount').notNull(),
    ...chainRef,
  },
  (t) => [
    index('sessions_session_idx').on(t.sessionId),
    index('sessions_account_idx').on(t.sessionAccount),
    index('sessions_wallet_idx').on(t.wallet),
    index('sessions_block_idx').on(t.blockNumber),
    check('sessions_amount_nonnegative', sql`${t.amount} >= 0`),
  ],
);

/**
 * Settlements (`ps1:pay` and `ps1:replay` batches): the amount actually transferred to the creator by that extrinsic.
 * Earnings count one only when its recipient is the stream's announced creator (a remark can label a transfer to anyone).
 */
export const settlements = pgTable(
  'settlements',
  {
    /** `<blockHash>:<extrinsicIndex>:<eventIndex>` of the transfer event. */
    id: text('id').primaryKey(),
    /** `live` (`ps1:pay`) or `replay` (`ps1:replay`): the earnings API reports each kind on its own. */
    kind: settlementKind('kind').notNull().default('live'),
    streamId: text('stream_id').notNull(),
    sessionId: text('session_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    /** The session account that signed the batch. */
    payer: text('payer').notNull(),
    creator: text('creator').notNull(),
    asset: text('asset').notNull(),
    amount: planck('amount').notNull(),
    ...chainRef,
  },
  (t) => [
    index('settlements_creator_time_idx').on(t.creator, t.blockTime),
    index('settlements_stream_time_idx').on(t.streamId, t.blockTime),
    index('settlements_session_idx').on(t.sessionId),
    index('settlements_block_idx').on(t.blockNumber),
    check('settlements_amount_nonnegative', sql`${t.amount} >= 0`),
  ],
);

/**
 * Tips (`ps1:tip:<streamId>:<messageId>` batches): the amount the tipping wallet actually transferred. Earnings count
 * a tip only when its recipient is the stream's announced creator (a remark can label a transfer to anyone).
 */
export const tips = pgTable(
  'tips',
  {
    /** `<blockHash>:<extrinsicIndex>:<eventIndex>` of the transfer event. */
    id: text('id').primaryKey(),
    streamId: text('stream_id').notNull(),
    messageId: text('message_id').notNull(),
    /** The wallet that signed the batch. */
    tipper: text('tipper').notNull(),
    /** The transfer's recipient. */
    creator: text('creator').notNull(),
    asset: text('asset').notNull(),
    amount: planck('amount').notNull(),
    ...chainRef,
  },
  (t) => [
    index('tips_creator_time_idx').on(t.creator, t.blockTime),
    index('tips_stream_time_idx').on(t.streamId, t.blockTime),
    index('tips_block_idx').on(t.blockNumber),
    check('tips_amount_positive', sql`${t.amount} > 0`),
  ],
);

/** The indexer's position: last written block and last finalized block seen (one row, id `main`). */
export const cursor = pgTable('cursor', {
  id: text('id').primaryKey(),
  height: bigint('height', { mode: 'number' }).notNull(),
  hash: text('hash').notNull(),
  finalizedHeight: bigint('finalized_height', { mode: 'number' }).notNull(),
  finalizedHash: text('finalized_hash').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});
