import { MAX_SESSION_SECONDS } from '@persecond/contracts-client';
import { eq, sql } from 'drizzle-orm';
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

/** A verified voucher: the viewer acknowledged owing `owed` at tick `seq`. */
export interface VoucherRecord {
  sessionId: string;
  seq: number;
  owed: bigint;
}

/** What recording a voucher did: whether it raised the acknowledged amount, and that amount afterwards. */
export interface VoucherOutcome {
  raised: boolean;
  acknowledged: bigint;
}

/** Runs a database operation under the ledger's guard (refused once closed). */
type Run = <T>(op: (db: LedgerDb) => Promise<T>) => Promise<T>;

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

/**
 * Writes one tick and says why it was not recorded: `duplicate` when a tick with this or a later seq is already
 * recorded; throws SESSION_NOT_FOUND, SESSION_CLOSED or TICK_INVALID (amount not watchedSeconds × price, or seconds
 * going backwards).
 */
export async function writeTick(db: LedgerDb, tick: TickRecord, log: Logger): Promise<'recorded' | 'duplicate'> {
  const recorded = await writeTicks(db, [tick], log);
  if (recorded.has(tick.sessionId)) return 'recorded';
  const [row] = await db.select().from(viewerSessions).where(eq(viewerSessions.sessionId, tick.sessionId));
  if (!row) throw new LedgerError('SESSION_NOT_FOUND', `no session ${tick.sessionId}`);
  if (row.lastSeq >= tick.seq) return 'duplicate';
  if (row.status === 'closed') throw new LedgerError('SESSION_CLOSED', `session ${tick.sessionId} is closed`);
  throw new LedgerError(
    'TICK_INVALID',
    `tick ${tick.seq} of ${tick.sessionId}: ${tick.watchedSeconds} s for ${tick.owed} does not follow ` +
      `${row.watchedSeconds} s at ${row.pricePerSecond} per second`,
  );
}

/**
 * Writes verified vouchers in one statement (see Ledger.recordVouchers); input refusals are answered without
 * touching the database, which is reached through `run`.
 */
export async function writeVouchers(
  vouchers: readonly VoucherRecord[],
  run: Run,
): Promise<Map<VoucherRecord, VoucherOutcome | LedgerError>> {
  const out = new Map<VoucherRecord, VoucherOutcome | LedgerError>();
  const valid: VoucherRecord[] = [];
  for (const v of vouchers) {
    try {
      checkCount('seq', v.seq, 0);
      checkAmount('owed', v.owed);
      valid.push(v);
    } catch (err) {
      out.set(v, err as LedgerError);
    }
  }
  if (valid.length === 0) return out;
  const stored = await run((db) =>
    rowsOf<{ s: string; acknowledged: string; owed: string; raised: boolean }>(
      db,
      // The final select sees the table as before the update: the raised amount, where there is one, comes from
      // `raised`. Per session the highest voucher within the metered amount wins (an UPDATE applies one source row
      // per target row); the update re-checks both bounds against the row it locks.
      sql`with v(s, q, o) as (
            select * from unnest(${arrayLiteral(valid.map((v) => v.sessionId))}::text[],
                                 ${arrayLiteral(valid.map((v) => v.seq))}::bigint[],
                                 ${arrayLiteral(valid.map((v) => v.owed))}::numeric[])),
          best as (
            select distinct on (v.s) v.s, v.q, v.o
            from v join ${viewerSessions} t on t.session_id = v.s
            where v.o > t.acknowledged and v.o <= t.owed
            order by v.s, v.o desc, v.q desc),
          raised as (
            update ${viewerSessions} as t
            set acknowledged = b.o, acknowledged_seq = b.q, updated_at = now()
            from best b where t.session_id = b.s and t.acknowledged < b.o and t.owed >= b.o
            returning t.session_id, t.acknowledged)
          select t.session_id as s, coalesce(r.acknowledged, t.acknowledged)::text as acknowledged,
                 t.owed::text as owed, r.session_id is not null as raised
          from ${viewerSessions} t left join raised r on r.session_id = t.session_id
          where t.session_id in (select distinct v.s from v)`,
    ),
  );
  const bySession = new Map(stored.map((r) => [r.s, r]));
  for (const v of valid) {
    const row = bySession.get(v.sessionId);
    if (!row) {
      out.set(v, new LedgerError('SESSION_NOT_FOUND', `no session ${v.sessionId}`));
      continue;
    }
    const acknowledged = BigInt(row.acknowledged);
    if (v.owed > acknowledged && v.owed > BigInt(row.owed)) {
      out.set(v, new LedgerError('VOUCHER_EXCEEDS_OWED', `voucher for ${v.owed} exceeds metered ${row.owed}`));
    } else out.set(v, { raised: row.raised && acknowledged === v.owed, acknowledged });
  }
  return out;
}
