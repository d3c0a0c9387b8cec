import { and, asc, eq, sql } from 'drizzle-orm';
import type { LedgerDb } from './database.ts';
import { LedgerError } from './errors.ts';
import { quarantinedEvents } from './schema.ts';

/** A chain event the ledger could not apply, kept aside with why. */
export interface QuarantinedEvent {
  /** The event's chain id. */
  id: string;
  kind: 'settlement' | 'funding';
  sessionId: string;
  /** The event as decoded, amounts as decimal strings. */
  payload: Record<string, unknown>;
  error: string;
  blockHash: string;
  blockNumber: number;
  /** The delivery that failed last. */
  status: 'pending' | 'final';
}

/** What a quarantined event was: the fields every protocol event has. */
export interface ChainEventInput {
  id: string;
  type: 'settlement' | 'funding';
  sessionId: string;
  blockHash: string;
  blockNumber: number;
}

/** The SQLSTATE of a database error, wrapped or not (drizzle wraps driver errors in `cause`). */
function sqlStateOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/**
 * Whether applying an event failed for a reason that retrying cannot fix: the event's own data (numeric overflow,
 * invalid input: SQLSTATE class 22), a constraint it breaks (class 23, but unique violations, which a concurrent
 * writer causes and a retry resolves), or the ledger's own refusal of its amounts. Anything else (connection lost,
 * serialization failure, the ledger closing) is retryable: the watcher stops and restarts from its cursor.
 */
export function isPermanentFailure(err: unknown): boolean {
  if (err instanceof LedgerError) return err.code === 'INPUT_INVALID' || err.code === 'AMOUNT_OUT_OF_RANGE';
  const state = sqlStateOf(err);
  if (!state) return false;
  return state.startsWith('22') || (state.startsWith('23') && state !== '23505');
}

/** The error text kept with a quarantined event: the database's own message when it has one. */
export function failureText(err: unknown): string {
  const state = sqlStateOf(err);
  let inner: unknown = err;
  while (inner instanceof Error && inner.cause instanceof Error) inner = inner.cause;
  const message = inner instanceof Error ? inner.message : String(inner);
  return state ? `${message} (SQLSTATE ${state})` : message;
}

/** JSON of a decoded event with its bigints as decimal strings. */
function payloadOf(event: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify(event, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

/** Keeps an event aside with its error (once per chain id; a later delivery updates status and error). */
export async function quarantine(
  db: LedgerDb,
  event: ChainEventInput,
  status: 'pending' | 'final',
  err: unknown,
): Promise<QuarantinedEvent> {
  const row = {
    id: event.id,
    kind: event.type,
    sessionId: event.sessionId,
    payload: payloadOf(event),
    error: failureText(err),
    status,
    blockNumber: event.blockNumber,
    blockHash: event.blockHash,
  };
  await db
    .insert(quarantinedEvents)
    .values(row)
    .onConflictDoUpdate({
      target: quarantinedEvents.id,
      set: { status, error: row.error, updatedAt: sql`now()` },
    });
  return row;
}

/** Removes the pending quarantined events of a block that lost a fork, as its credits are. */
export async function retractQuarantined(db: LedgerDb, blockHash: string): Promise<void> {
  await db
    .delete(quarantinedEvents)
    .where(and(eq(quarantinedEvents.blockHash, blockHash), eq(quarantinedEvents.status, 'pending')));
}

/** The quarantined events, of one session or all, by block. */
export async function quarantinedOf(db: LedgerDb, sessionId?: string): Promise<QuarantinedEvent[]> {
  const rows = await db
    .select()
    .from(quarantinedEvents)
    .where(sessionId === undefined ? undefined : eq(quarantinedEvents.sessionId, sessionId))
    .orderBy(asc(quarantinedEvents.blockNumber), asc(quarantinedEvents.id));
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind as QuarantinedEvent['kind'],
    sessionId: r.sessionId,
    payload: r.payload as Record<string, unknown>,
    error: r.error,
    blockHash: r.blockHash,
    blockNumber: r.blockNumber,
    status: r.status,
  }));
}
