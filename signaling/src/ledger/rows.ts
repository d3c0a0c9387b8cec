import { type Asset, checkU128 } from '@persecond/contracts-client';
import type { sql } from 'drizzle-orm';
import type { LedgerDb } from './database.ts';
import { LedgerError } from './errors.ts';
import type { viewerSessions } from './schema.ts';

/** What a viewer session is opened with; all fixed for the session's life except the budget. */
export interface SessionOpening {
  sessionId: string;
  streamId: string;
  wallet: string;
  sessionAccount: string;
  creator: string;
  asset: Asset;
  pricePerSecond: bigint;
  budget: bigint;
  /** The stream live (default) or its replay. */
  kind?: 'live' | 'replay';
}

/** A viewer session as the ledger holds it. */
export interface LedgerSession extends SessionOpening {
  status: 'active' | 'closed';
  watchedSeconds: number;
  /** Sequence number of the last recorded tick (0 before the first). */
  lastSeq: number;
  /** watchedSeconds × pricePerSecond. */
  owed: bigint;
  /** `owed` of the highest valid voucher. */
  acknowledged: bigint;
  acknowledgedSeq: number;
  settledPending: bigint;
  settledFinal: bigint;
  createdAt: Date;
  updatedAt: Date;
}

/** How the ledger stores an asset: `native` or an assets-pallet id as decimal text. */
export function assetText(asset: Asset): string {
  return asset === 'native' ? 'native' : String(asset);
}

/** The asset of a stored `asset` column. */
export function assetOf(text: string): Asset {
  return text === 'native' ? 'native' : Number(text);
}

/** Throws INPUT_INVALID unless `value` is a safe integer ≥ `min`. */
export function checkCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new LedgerError('INPUT_INVALID', `${name} must be an integer ≥ ${min}, got ${value}`);
  }
}

/** Throws `code` (INPUT_INVALID by default) unless `value` is within u128. */
export function checkAmount(
  name: string,
  value: bigint,
  code: 'INPUT_INVALID' | 'AMOUNT_OUT_OF_RANGE' = 'INPUT_INVALID',
): void {
  try {
    checkU128(value);
  } catch {
    throw new LedgerError(code, `${name} out of u128 range: ${value}`);
  }
}

/** A PostgreSQL array literal (`{"a","b"}`), passed as one text parameter whatever the batch size. */
export function arrayLiteral(values: readonly (string | number | bigint)[]): string {
  return `{${values.map((v) => `"${String(v).replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
}

/** Rows of a raw query (both drivers answer `{ rows }`). */
export async function rowsOf<T>(db: LedgerDb, query: ReturnType<typeof sql>): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

/** A stored `viewer_sessions` row as the ledger answers it. */
export function toSession(row: typeof viewerSessions.$inferSelect): LedgerSession {
  return {
    sessionId: row.sessionId,
    streamId: row.streamId,
    wallet: row.wallet,
    sessionAccount: row.sessionAccount,
    creator: row.creator,
    asset: assetOf(row.asset),
    pricePerSecond: row.pricePerSecond,
    budget: row.budget,
    kind: row.kind,
    status: row.status,
    watchedSeconds: row.watchedSeconds,
    lastSeq: row.lastSeq,
    owed: row.owed,
    acknowledged: row.acknowledged,
    acknowledgedSeq: row.acknowledgedSeq,
    settledPending: row.settledPending,
    settledFinal: row.settledFinal,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
