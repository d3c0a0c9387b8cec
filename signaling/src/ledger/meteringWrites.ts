import { MAX_SESSION_SECONDS } from '@persecond/contracts-client';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { LedgerDb } from './database.ts';
import { LedgerError } from './errors.ts';
import { failureText, isPermanentFailure } from './quarantine.ts';
import { arrayLiteral, checkAmount, checkCount, rowsOf } from './rows.ts';
import { viewerSessions } from './schema.ts';

/** One metered second of a session: cumulative seconds and amount after tick `seq`. */
export interface TickRecord {
  sessionId: string;
  seq: number;
  watchedSeconds: number;
  owed: bigint;
}

/** Throws INPUT_INVALID unless the tick's numbers are within their bounds (seconds up to MAX_SESSION_SECONDS). */
export function checkTick(t: TickRecord): void {
  checkCount('seq', t.seq, 1);
  checkCount('watchedSeconds', t.watchedSeconds, 0);
  if (t.watchedSeconds > MAX_SESSION_SECONDS) {
    throw new LedgerError('INPUT_INVALID', `watchedSeconds beyond MAX_SESSION_SECONDS: ${t.watchedSeconds}`);
  }
  checkAmount('owed', t.owed);
}

/** One statement for all `rows` (one per session); returns the sessions updated. */
async function updateTicks(db: LedgerDb, rows: readonly TickRecord[]): Promise<Set<string>> {
  // Four array parameters for the whole batch (cheaper to decode than JSON); the WHERE clause keeps the update
  // idempotent by seq and exact in amount. Only the sessions NOT updated come back (usually none): reading back a
  // row per recorded tick cost more than the update.
  const refused = await rowsOf<{ s: string }>(
    db,
    sql`with v(s, q, w, o) as (
          select * from unnest(${arrayLiteral(rows.map((t) => t.sessionId))}::text[],
                               ${arrayLiteral(rows.map((t) => t.seq))}::bigint[],
                               ${arrayLiteral(rows.map((t) => t.watchedSeconds))}::bigint[],
                               ${arrayLiteral(rows.map((t) => t.owed))}::numeric[])),
        u as (
          update ${viewerSessions} as s
          set watched_seconds = v.w, last_seq = v.q, owed = v.o, updated_at = now()
          from v
          where s.session_id = v.s and s.status = 'active' and v.q > s.last_seq
            and v.w >= s.watched_seconds and v.o = v.w * s.price_per_second
          returning s.session_id)
        select v.s from v where not exists (select 1 from u where u.session_id = v.s)`,
  );
  const recorded = new Set(rows.map((t) => t.sessionId));
  for (const r of refused) recorded.delete(r.s);
  return recorded;
}

/**
 * Writes a round of ticks, per session the highest seq; returns the sessions whose tick was recorded. One bad row
 * must not halt metering for the node: ticks out of bounds are left out, and when the statement fails for good
 * (data or constraint error) the rows are written one session at a time; the sessions that still fail are not
 * recorded (so their ticks are not sent) and logged. A retryable failure (connection lost) rejects the round.
 */
export async function writeTicks(db: LedgerDb, ticks: readonly TickRecord[], log: Logger): Promise<Set<string>> {
  // Ticks are cumulative: per session only the latest counts (an UPDATE applies one source row per target row).
  const latest = new Map<string, TickRecord>();
  const invalid: { sessionId: string; seq: number; error: string }[] = [];
  for (const t of ticks) {
    try {
      checkTick(t);
    } catch (err) {
      invalid.push({ sessionId: t.sessionId, seq: t.seq, error: (err as Error).message });
      continue;
    }
    const seen = latest.get(t.sessionId);
    if (!seen || seen.seq < t.seq) latest.set(t.sessionId, t);
  }
  if (invalid.length > 0) log.error({ ticks: invalid }, 'ticks out of bounds were not recorded');
  const rows = [...latest.values()];
  if (rows.length === 0) return new Set();
  try {
    return await updateTicks(db, rows);
  } catch (err) {
    if (!isPermanentFailure(err)) throw err;
    const recorded = new Set<string>();
    const failed: { sessionId: string; seq: number; error: string }[] = [];
    for (const row of rows) {
      try {
        if ((await updateTicks(db, [row])).size > 0) recorded.add(row.sessionId);
      } catch (rowErr) {
        if (!isPermanentFailure(rowErr)) throw rowErr;
        failed.push({ sessionId: row.sessionId, seq: row.seq, error: failureText(rowErr) });
      }
    }
    log.error(
      { err, failed, recorded: recorded.size },
      "the round's tick write failed; wrote it one session at a time, the failed sessions' ticks are not recorded",
    );
    return recorded;
  }
}
