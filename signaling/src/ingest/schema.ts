import { sql } from 'drizzle-orm';
import { customType, index, text, timestamp } from 'drizzle-orm/pg-core';
import { signaling } from '../ledger/schema.ts';

/** Raw bytes (PostgreSQL `bytea`), as a Node Buffer. */
const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => Buffer.from(value),
});

/**
 * Stream keys of the creators (OBS and other encoders publish with one): a key is either bound to one stream
 * (`stream_id`) or the creator's channel key (`stream_id` null: the creator's live or next announced stream). The
 * secret itself is never stored, only its SHA-256 (`secret_hash`); a rotation replaces the hash, a revocation keeps the
 * row (so the ingest can say the key was revoked) and the key never works again.
 */
export const streamKeys = signaling.table(
  'stream_keys',
  {
    /** Public id of the key (hex), the first part of the token; never secret. */
    id: text('id').primaryKey(),
    /** The creator's wallet (the address it signed in with). */
    creator: text('creator').notNull(),
    /** The stream the key publishes to; null: the creator's channel key. */
    streamId: text('stream_id'),
    /** SHA-256 of the current secret (32 bytes). */
    secretHash: bytea('secret_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    rotatedAt: timestamp('rotated_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    /** When an ingest last started publishing with the key. */
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('stream_keys_creator_idx').on(t.creator).where(sql`${t.revokedAt} is null`)],
);
