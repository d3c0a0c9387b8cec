import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  numeric,
  primaryKey,
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
    /** Removed by moderation: when (ms since epoch) and by whom; history leaves such messages out. */
    deletedAt: bigint('deleted_at', { mode: 'number' }),
    deletedBy: text('deleted_by'),
  },
  (t) => [
    index('chat_messages_stream_id_idx').on(t.streamId, t.id),
    uniqueIndex('chat_messages_client_id_idx')
      .on(t.streamId, t.sender, t.clientId)
      .where(sql`${t.clientId} is not null`),
    // The studio's tip sums each round and the retraction of a block's pending tips read only tipped messages.
    index('chat_messages_tips_idx').on(t.streamId, t.tipStatus).where(sql`${t.tipStatus} is not null`),
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

/** Moderators a creator named for all of its streams. */
export const chatModerators = signaling.table(
  'chat_moderators',
  {
    creator: text('creator').notNull(),
    wallet: text('wallet').notNull(),
    addedAt: timestamp('added_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.creator, t.wallet] })],
);

/** Bans (no `until`) and timeouts (`until`, ms since epoch) of a wallet in all of a creator's streams. */
export const chatBans = signaling.table(
  'chat_bans',
  {
    creator: text('creator').notNull(),
    wallet: text('wallet').notNull(),
    until: bigint('until', { mode: 'number' }),
    /** The creator or moderator who banned or timed out the wallet. */
    by: text('by').notNull(),
    at: bigint('at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.creator, t.wallet] })],
);

/** Every moderation action in a creator's streams, newest with the greatest id. */
export const chatModActions = signaling.table(
  'chat_mod_actions',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    creator: text('creator').notNull(),
    streamId: text('stream_id').notNull(),
    /** Who acted (the creator or a moderator). */
    actor: text('actor').notNull(),
    /** `delete`, `timeout`, `ban`, `unban`, `moderators`, `settings`. */
    action: text('action').notNull(),
    /** The wallet acted on, if any. */
    target: text('target'),
    /** Machine-readable details (message id, minutes, moderators added/removed, settings). */
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    at: bigint('at', { mode: 'number' }).notNull(),
  },
  (t) => [index('chat_mod_actions_creator_idx').on(t.creator, t.id)],
);
