import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  doublePrecision,
  index,
  integer,
  numeric,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { signaling } from '../ledger/schema.ts';

/** Chat messages of every stream; ids grow with time, so a stream's history pages by id. */
export const chatMessages = signaling.table(
  'chat_messages',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    streamId: text('stream_id').notNull(),
    /** The sender's wallet (the address it signed in with). */
    sender: text('sender').notNull(),
    displayName: text('display_name'),
    /** Badges the sender had when it posted (`creator`, `paying`, `moderator`). */
    badges: text('badges').array().notNull().default(sql`'{}'::text[]`),
    /** Plain text, cleaned (`cleanChatText`); never HTML. */
    text: text('text').notNull(),
    /** Server time (ms since epoch). */
    sentAt: bigint('sent_at', { mode: 'number' }).notNull(),
    /** The sender's player position (seconds), if it said. */
    mediaTime: doublePrecision('media_time'),
    /** The client's id of the message: a retry with it finds the stored message. */
    clientId: text('client_id'),
    /** A tip riding on the message (filled by the tip flow): asset, planck amount read from the chain, its tx. */
    tipAsset: text('tip_asset'),
    tipAmount: numeric('tip_amount', { precision: 39, scale: 0, mode: 'bigint' }),
    tipTx: text('tip_tx'),
    tipStatus: text('tip_status'),
  },
  (t) => [
    index('chat_messages_stream_id_idx').on(t.streamId, t.id),
    uniqueIndex('chat_messages_client_id_idx')
      .on(t.streamId, t.sender, t.clientId)
      .where(sql`${t.clientId} is not null`),
  ],
);

/** A stream's chat settings, set by its creator (a stream without a row has the defaults: all off). */
export const chatSettings = signaling.table('chat_settings', {
  streamId: text('stream_id').primaryKey(),
  slowModeSeconds: integer('slow_mode_seconds').notNull().default(0),
  payingOnly: boolean('paying_only').notNull().default(false),
  /** Who set them last. */
  updatedBy: text('updated_by').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});
