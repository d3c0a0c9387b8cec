import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, asc, eq, isNull } from 'drizzle-orm';
import type { Ledger } from '../ledger/Ledger.ts';
import { streamKeys } from './schema.ts';

/** What every token starts with (so a leaked one is recognisable as a Persecond stream key). */
const TOKEN_PREFIX = 'psk';
/** Key ids are 8 random bytes in hex; secrets 32 random bytes in base64url (43 characters). */
const TOKEN_PATTERN = /^psk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** A stream key as its creator sees it (never its secret). */
export interface StreamKeyInfo {
  keyId: string;
  creator: string;
  /** The stream it publishes to; null for the creator's channel key. */
  streamId: string | null;
  createdAt: string;
  rotatedAt: string | null;
  lastUsedAt: string | null;
}

/** A key with the token to show its creator once (created or rotated). */
export interface IssuedStreamKey {
  key: StreamKeyInfo;
  /** `psk_<keyId>_<secret>`: the whole token is the bearer credential. */
  token: string;
}

/** What checking a token found: the key, or why it does not work. */
export type KeyCheck = { ok: true; key: StreamKeyInfo } | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' };

type Row = typeof streamKeys.$inferSelect;

function infoOf(row: Row): StreamKeyInfo {
  return {
    keyId: row.id,
    creator: row.creator,
    streamId: row.streamId,
    createdAt: row.createdAt.toISOString(),
    rotatedAt: row.rotatedAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}

function hashOf(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Splits a token into its key id and secret; undefined when it is not shaped as one. */
export function parseToken(token: string): { keyId: string; secret: string } | undefined {
  const m = TOKEN_PATTERN.exec(token);
  return m ? { keyId: m[1] as string, secret: m[2] as string } : undefined;
}

/**
 * The creators' stream keys in the signaling database (table `stream_keys`, through the node's Ledger). A token is
 * `psk_<keyId>_<secret>`: the key id finds the row, the secret's SHA-256 is compared with the stored one in constant
 * time; the secret is never stored nor logged. Any ingest (WHIP today, RTMP later) checks its token with `check()`.
 */
export class StreamKeys {
  constructor(private readonly ledger: Ledger) {}

  /** A new key of `creator`, for `streamId` or (null) the creator's channel. */
  async create(creator: string, streamId: string | null): Promise<IssuedStreamKey> {
    const keyId = randomBytes(8).toString('hex');
    const secret = newSecret();
    const [row] = await this.ledger.use(async (db) =>
      db
        .insert(streamKeys)
        .values({ id: keyId, creator, streamId, secretHash: hashOf(secret) })
        .returning(),
    );
    if (!row) throw new Error('a stream key was not stored');
    return { key: infoOf(row), token: `${TOKEN_PREFIX}_${keyId}_${secret}` };
  }

  /** The creator's keys in use (not revoked), oldest first. */
  async list(creator: string): Promise<StreamKeyInfo[]> {
    const rows = await this.ledger.use(async (db) =>
      db
        .select()
        .from(streamKeys)
        .where(and(eq(streamKeys.creator, creator), isNull(streamKeys.revokedAt)))
        .orderBy(asc(streamKeys.createdAt), asc(streamKeys.id)),
    );
    return rows.map(infoOf);
  }

  /** One of the creator's keys in use; undefined when it is not the creator's, unknown or revoked. */
  async get(creator: string, keyId: string): Promise<StreamKeyInfo | undefined> {
    const row = await this.#row(keyId);
    return row && row.creator === creator && !row.revokedAt ? infoOf(row) : undefined;
  }

  /** A new secret for one of the creator's keys in use (the old one stops working at once); undefined if none. */
  async rotate(creator: string, keyId: string): Promise<IssuedStreamKey | undefined> {
    const secret = newSecret();
    const [row] = await this.ledger.use(async (db) =>
      db
        .update(streamKeys)
        .set({ secretHash: hashOf(secret), rotatedAt: new Date() })
        .where(and(eq(streamKeys.id, keyId), eq(streamKeys.creator, creator), isNull(streamKeys.revokedAt)))
        .returning(),
    );
    return row && { key: infoOf(row), token: `${TOKEN_PREFIX}_${keyId}_${secret}` };
  }

  /** Revokes one of the creator's keys for good; false when it had no such key in use. */
  async revoke(creator: string, keyId: string): Promise<boolean> {
    const rows = await this.ledger.use(async (db) =>
      db
        .update(streamKeys)
        .set({ revokedAt: new Date() })
        .where(and(eq(streamKeys.id, keyId), eq(streamKeys.creator, creator), isNull(streamKeys.revokedAt)))
        .returning({ id: streamKeys.id }),
    );
    return rows.length > 0;
  }

  /** Checks a bearer token: its key when the secret matches a key in use, else why not. */
  async check(token: string): Promise<KeyCheck> {
    const parsed = parseToken(token);
    if (!parsed) return { ok: false, reason: 'malformed' };
    const row = await this.#row(parsed.keyId);
    // Compared even for an unknown id, so the answer's timing does not tell which ids exist.
    const stored = row?.secretHash ?? Buffer.alloc(32);
    const matches = timingSafeEqual(hashOf(parsed.secret), stored.length === 32 ? stored : Buffer.alloc(32));
    if (!row || !matches) return { ok: false, reason: 'unknown' };
    if (row.revokedAt) return { ok: false, reason: 'revoked' };
    return { ok: true, key: infoOf(row) };
  }

  /** Records that an ingest started publishing with the key. */
  async markUsed(keyId: string, at = new Date()): Promise<void> {
    await this.ledger.use(async (db) => db.update(streamKeys).set({ lastUsedAt: at }).where(eq(streamKeys.id, keyId)));
  }

  async #row(keyId: string): Promise<Row | undefined> {
    const [row] = await this.ledger.use(async (db) => db.select().from(streamKeys).where(eq(streamKeys.id, keyId)));
    return row;
  }
}
