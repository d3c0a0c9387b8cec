import { sql } from 'drizzle-orm';
import { canonicalAccount } from './accounts.ts';
import type { LedgerDb } from './database.ts';
import { LedgerError } from './errors.ts';
import { arrayLiteral, rowsOf } from './rows.ts';
import { viewerSessions } from './schema.ts';

/** Unpaid amounts of one holder (a wallet, or a session account) across its sessions. */
export interface Debt {
  sessions: number;
  /** Σ metered amounts (watched × price). */
  owed: bigint;
  /** Σ acknowledged amounts (highest valid vouchers). */
  acknowledged: bigint;
  /** Σ settled amounts, pending and final. */
  settled: bigint;
  /** Σ over sessions of what was metered and not paid, max(owed − settled, 0): an overpaid session is no credit. */
  debt: bigint;
}

/** The debts of a session's wallet and of its session account. */
export interface HolderDebts {
  wallet: Debt;
  sessionAccount: Debt;
}

/** Which sessions a debt leaves out. */
export interface DebtFilter {
  /** E.g. the session being joined or resumed. */
  exceptSessionId?: string;
  /** Sessions left out while still active (e.g. the ones watching on this node right now, whose arrears are bounded). */
  exceptActive?: readonly string[];
}

/** Another live session of a session account. */
export interface ActiveSession {
  sessionId: string;
  streamId: string;
  wallet: string;
  updatedAt: Date;
}

/** A stream's amounts across its viewer sessions: what the creator's live stats show. */
export interface StreamTotals {
  /** Σ metered (watched × price). */
  owed: bigint;
  /** Σ acknowledged by valid vouchers. */
  acknowledged: bigint;
  /** Σ settled in blocks not final yet. */
  settledPending: bigint;
  /** Σ settled in final blocks. */
  settledFinal: bigint;
}

/** A stream's totals at its end: its amounts, how much of them is not settled, and its audience. */
export interface StreamEndTotals extends StreamTotals {
  /** Σ over sessions of max(owed − settled, 0): metered and not settled on chain (yet). */
  unsettled: bigint;
  /** Distinct wallets with a session of the stream. */
  wallets: number;
  sessions: number;
  /** Sessions still active (not closed by a leave or the stream's end). */
  active: number;
}

type DebtColumns = 'sessions' | 'owed' | 'acknowledged' | 'settled' | 'debt';

/** Debts of a wallet and of a session account (either may be absent) in one query. */
export async function debtsOf(
  db: LedgerDb,
  holders: { wallet?: string; sessionAccount?: string },
  filter: DebtFilter,
): Promise<{ wallet: Debt; sessionAccount: Debt }> {
  const wallet = holders.wallet === undefined ? null : canonicalAccount(holders.wallet);
  const account = holders.sessionAccount === undefined ? null : canonicalAccount(holders.sessionAccount);
  const s = viewerSessions;
  const settled = sql`(${s.settledPending} + ${s.settledFinal})`;
  const sums = (prefix: string, holder: ReturnType<typeof sql>) => sql`
    count(*) filter (where ${holder})::text as ${sql.raw(`${prefix}_sessions`)},
    coalesce(sum(${s.owed}) filter (where ${holder}), 0)::text as ${sql.raw(`${prefix}_owed`)},
    coalesce(sum(${s.acknowledged}) filter (where ${holder}), 0)::text as ${sql.raw(`${prefix}_acknowledged`)},
    coalesce(sum(${settled}) filter (where ${holder}), 0)::text as ${sql.raw(`${prefix}_settled`)},
    coalesce(sum(greatest(${s.owed} - ${settled}, 0)) filter (where ${holder}), 0)::text
      as ${sql.raw(`${prefix}_debt`)}`;
  const ofWallet = sql`${s.wallet} = ${wallet}`;
  const ofAccount = sql`${s.sessionAccount} = ${account}`;
  const [row] = await rowsOf<Record<`${'w' | 'a'}_${DebtColumns}`, string>>(
    db,
    sql`select ${sums('w', ofWallet)}, ${sums('a', ofAccount)}
        from ${s}
        where (${ofWallet} or ${ofAccount})
          and ${s.sessionId} is distinct from ${filter.exceptSessionId ?? null}
          and not (${s.status} = 'active'
                   and ${s.sessionId} = any(${arrayLiteral(filter.exceptActive ?? [])}::text[]))`,
  );
  if (!row) throw new LedgerError('SESSION_NOT_FOUND', 'debt query returned nothing');
  const debt = (p: 'w' | 'a'): Debt => ({
    sessions: Number(row[`${p}_sessions`]),
    owed: BigInt(row[`${p}_owed`]),
    acknowledged: BigInt(row[`${p}_acknowledged`]),
    settled: BigInt(row[`${p}_settled`]),
    debt: BigInt(row[`${p}_debt`]),
  });
  return { wallet: debt('w'), sessionAccount: debt('a') };
}

/** The active sessions of a session account, but `exceptSessionId`, most recently updated first. */
export async function activeSessionsOf(
  db: LedgerDb,
  sessionAccount: string,
  exceptSessionId: string | undefined,
): Promise<ActiveSession[]> {
  const s = viewerSessions;
  const rows = await db
    .select({ sessionId: s.sessionId, streamId: s.streamId, wallet: s.wallet, updatedAt: s.updatedAt })
    .from(s)
    .where(
      sql`${s.sessionAccount} = ${canonicalAccount(sessionAccount)} and ${s.status} = 'active'
          and ${s.sessionId} is distinct from ${exceptSessionId ?? null}`,
    )
    .orderBy(sql`${s.updatedAt} desc`);
  return rows;
}

/** The sums both stream reports select, as decimal text (`pending`, `final`: settled in blocks not final / final). */
function streamSums(s: typeof viewerSessions) {
  return sql`coalesce(sum(${s.owed}), 0)::text as owed,
    coalesce(sum(${s.acknowledged}), 0)::text as acknowledged,
    coalesce(sum(${s.settledPending}), 0)::text as pending,
    coalesce(sum(${s.settledFinal}), 0)::text as final`;
}

type SumColumns = 'owed' | 'acknowledged' | 'pending' | 'final';

function totalsOf(row: Record<SumColumns, string>): StreamTotals {
  return {
    owed: BigInt(row.owed),
    acknowledged: BigInt(row.acknowledged),
    settledPending: BigInt(row.pending),
    settledFinal: BigInt(row.final),
  };
}

/** A stream's amounts across its sessions of one kind (live by default), in one aggregate. */
export async function streamTotals(
  db: LedgerDb,
  streamId: string,
  kind: 'live' | 'replay' = 'live',
): Promise<StreamTotals> {
  const s = viewerSessions;
  const [row] = await rowsOf<Record<SumColumns, string>>(
    db,
    sql`select ${streamSums(s)} from ${s} where ${s.streamId} = ${streamId} and ${s.kind} = ${kind}`,
  );
  if (!row) throw new LedgerError('SESSION_NOT_FOUND', 'stream totals query returned nothing');
  return totalsOf(row);
}

/**
 * A stream's amounts and audience across its live sessions (its replay's are apart), in one aggregate (numeric sums,
 * read as decimal text).
 */
export async function streamEndTotals(db: LedgerDb, streamId: string): Promise<StreamEndTotals> {
  const s = viewerSessions;
  const settled = sql`(${s.settledPending} + ${s.settledFinal})`;
  const [row] = await rowsOf<Record<SumColumns | 'unsettled' | 'wallets' | 'sessions' | 'active', string>>(
    db,
    sql`select ${streamSums(s)},
          coalesce(sum(greatest(${s.owed} - ${settled}, 0)), 0)::text as unsettled,
          count(distinct ${s.wallet})::text as wallets,
          count(*)::text as sessions,
          count(*) filter (where ${s.status} = 'active')::text as active
        from ${s}
        where ${s.streamId} = ${streamId} and ${s.kind} = 'live'`,
  );
  if (!row) throw new LedgerError('SESSION_NOT_FOUND', 'stream end totals query returned nothing');
  return {
    ...totalsOf(row),
    unsettled: BigInt(row.unsettled),
    wallets: Number(row.wallets),
    sessions: Number(row.sessions),
    active: Number(row.active),
  };
}
