import { boolean, index, integer, numeric, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { signaling } from '../ledger/schema.ts';

/** Money: planck, exact, up to 39 digits (u128 fits). */
const planck = (name: string) => numeric(name, { precision: 39, scale: 0, mode: 'bigint' });

/**
 * The replay terms of each stream taken live on a node (written at `stream:goLive`): what its recording is sold
 * under once the stream ended, kept past the stream directory's memory of it. The recording itself is files under
 * the SFU's RECORDING_DIR; `deleted_at` is set when the creator deletes the replay (its files go at the same time).
 */
export const replays = signaling.table(
  'replays',
  {
    streamId: text('stream_id').primaryKey(),
    /** The stream's creator (the only one who may delete it, the payee of its sessions). */
    creator: text('creator').notNull(),
    title: text('title').notNull(),
    /** `native` or an assets-pallet id as decimal text. */
    asset: text('asset').notNull(),
    /** The replay's price per second: the creator's choice, else the live price. */
    pricePerSecond: planck('price_per_second').notNull(),
    livePricePerSecond: planck('live_price_per_second').notNull(),
    /** The stream's payment terms, which replay sessions are held to as live ones are. */
    settleEverySeconds: integer('settle_every_seconds').notNull(),
    payAhead: boolean('pay_ahead').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('replays_creator_idx').on(t.creator)],
);

/**
 * The segments of a recording each replay session was charged for, by number: kept before they are charged, so a
 * session resumed later (after a leave, a signaling restart, on another node) is never charged a second twice.
 */
export const replayWatched = signaling.table(
  'replay_watched',
  {
    sessionId: text('session_id').notNull(),
    seq: integer('seq').notNull(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.seq] })],
);
