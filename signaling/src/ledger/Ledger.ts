import { type Asset, MAX_PRICE_PER_SECOND, type WatchedBlock } from '@persecond/contracts-client';
import { eq, sql } from 'drizzle-orm';
import { type Logger, pino } from 'pino';
import { canonicalAccount } from './accounts.ts';
import type { LedgerConfig } from './config.ts';
import { type LedgerDatabase, type LedgerDb, openLedgerDatabase } from './database.ts';
import { LedgerError } from './errors.ts';
import { type FundingInput, type FundingRecord, fundingsOf, recordFunding } from './fundings.ts';
import { checkTick, type TickRecord, writeTicks } from './meteringWrites.ts';
import { type QuarantinedEvent, quarantinedOf } from './quarantine.ts';
import {
  type ActiveSession,
  activeSessionsOf,
  type Debt,
  type DebtFilter,
  debtsOf,
  type HolderDebts,
} from './reports.ts';
import { arrayLiteral, assetOf, assetText, checkAmount, checkCount, rowsOf } from './rows.ts';
import { viewerSessions } from './schema.ts';
import {
  type AppliedBlock,
  applyBlock,
  type CreditOutcome,
  creditSettlement,
  readCursor,
  retractBlock,
  type SettlementCreditInput,
  saveCursor,
  type WatcherCursor,
} from './settlementCredits.ts';

export type { FundingInput, FundingRecord } from './fundings.ts';
export type { TickRecord } from './meteringWrites.ts';
export type { QuarantinedEvent } from './quarantine.ts';
export type { ActiveSession, Debt, DebtFilter, HolderDebts } from './reports.ts';
export type {
  AppliedBlock,
  CreditOutcome,
  SettlementChange,
  SettlementCreditInput,
  WatcherCursor,
} from './settlementCredits.ts';

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

/** A wallet's debt (the shape `debtOf(wallet)` answers). */
export type WalletDebt = Debt;

/** A stream's totals across its viewer sessions. */
export interface StreamTotals {
  sessions: number;
  activeSessions: number;
  watchedSeconds: number;
  owed: bigint;
  acknowledged: bigint;
  settledPending: bigint;
  settledFinal: bigint;
}

type SessionRow = typeof viewerSessions.$inferSelect;

function toSession(row: SessionRow): LedgerSession {
  return {
    sessionId: row.sessionId,
    streamId: row.streamId,
    wallet: row.wallet,
    sessionAccount: row.sessionAccount,
    creator: row.creator,
    asset: assetOf(row.asset),
    pricePerSecond: row.pricePerSecond,
    budget: row.budget,
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

/**
 * The signaling ledger: viewer sessions, metered seconds, acknowledged and settled amounts, persisted so that a
 * restart loses nothing and charges nothing twice. Every write is idempotent (ticks by seq, vouchers by amount,
 * settlements by chain id), so replaying any of them is harmless.
 */
export class Ledger {
  readonly #database: LedgerDatabase;
  readonly #log: Logger;
  readonly #inflight = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;

  private constructor(database: LedgerDatabase, log: Logger) {
    this.#database = database;
    this.#log = log;
  }

  /** Opens (and migrates) the configured database; `log` gets the writes it could not make (default: none). */
  static async open(config: LedgerConfig, opts: { log?: Logger } = {}): Promise<Ledger> {
    return new Ledger(await openLedgerDatabase(config), opts.log ?? pino({ level: 'silent' }));
  }

  /** Which engine holds the data. */
  get kind(): 'pglite' | 'postgres' {
    return this.#database.kind;
  }

  /** Runs one operation unless closed; close() waits for running ones. */
  #run<T>(op: (db: LedgerDb) => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(new LedgerError('LEDGER_CLOSED', 'the ledger is closed'));
    const p = op(this.#database.db);
    this.#inflight.add(p);
    const done = () => this.#inflight.delete(p);
    p.then(done, done);
    return p;
  }

  /**
   * Opens a session, or resumes it (same session id): the fixed terms must match, the budget is updated and the
   * status becomes active again. Returns the stored session (seconds, seq and amounts carry on after a resume).
   * Refuses AMOUNT_OUT_OF_RANGE a price above MAX_PRICE_PER_SECOND or a budget beyond u128, so every sum fits.
   */
  async openSession(opening: SessionOpening): Promise<{ session: LedgerSession; resumed: boolean }> {
    if (opening.pricePerSecond < 0n || opening.pricePerSecond > MAX_PRICE_PER_SECOND) {
      throw new LedgerError(
        'AMOUNT_OUT_OF_RANGE',
        `pricePerSecond must be within 0..${MAX_PRICE_PER_SECOND}, got ${opening.pricePerSecond}`,
      );
    }
    checkAmount('budget', opening.budget, 'AMOUNT_OUT_OF_RANGE');
    const values = {
      sessionId: opening.sessionId,
      streamId: opening.streamId,
      wallet: canonicalAccount(opening.wallet),
      sessionAccount: canonicalAccount(opening.sessionAccount),
      creator: canonicalAccount(opening.creator),
      asset: assetText(opening.asset),
      pricePerSecond: opening.pricePerSecond,
      budget: opening.budget,
    };
    return this.#run(async (db) => {
      const [created] = await db.insert(viewerSessions).values(values).onConflictDoNothing().returning();
      if (created) return { session: toSession(created), resumed: false };
      const [existing] = await db.select().from(viewerSessions).where(eq(viewerSessions.sessionId, values.sessionId));
      if (!existing) throw new LedgerError('SESSION_NOT_FOUND', `session ${values.sessionId} vanished while opening`);
      for (const key of ['streamId', 'wallet', 'sessionAccount', 'creator', 'asset', 'pricePerSecond'] as const) {
        if (existing[key] !== values[key]) {
          throw new LedgerError('SESSION_MISMATCH', `session ${values.sessionId} exists with another ${key}`);
        }
      }
      const [resumed] = await db
        .update(viewerSessions)
        .set({ status: 'active', budget: values.budget, updatedAt: sql`now()` })
        .where(eq(viewerSessions.sessionId, values.sessionId))
        .returning();
      return { session: toSession(resumed ?? existing), resumed: true };
    });
  }

  /** The stored session, if any. */
  session(sessionId: string): Promise<LedgerSession | undefined> {
    return this.#run(async (db) => {
      const [row] = await db.select().from(viewerSessions).where(eq(viewerSessions.sessionId, sessionId));
      return row ? toSession(row) : undefined;
    });
  }

  /** Marks a session closed (the viewer left); its amounts stay and count for the wallet's debt. */
  closeSession(sessionId: string): Promise<LedgerSession> {
    return this.#run(async (db) => {
      const [row] = await db
        .update(viewerSessions)
        .set({ status: 'closed', updatedAt: sql`now()` })
        .where(eq(viewerSessions.sessionId, sessionId))
        .returning();
      if (!row) throw new LedgerError('SESSION_NOT_FOUND', `no session ${sessionId}`);
      return toSession(row);
    });
  }

  /**
   * Records one tick. `duplicate` when a tick with this or a later seq is already recorded (a replay: nothing
   * changes). Throws TICK_INVALID when `owed` is not watchedSeconds × price or the seconds go backwards.
   */
  async recordTick(tick: TickRecord): Promise<'recorded' | 'duplicate'> {
    checkTick(tick);
    return this.#run(async (db) => {
      const recorded = await writeTicks(db, [tick], this.#log);
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
    });
  }

  /**
   * Records many ticks in one statement (the meter's round); returns the sessions whose tick was recorded. Per
   * session only the highest seq of the batch counts; it is skipped when already recorded (seq not above the last),
   * inconsistent, out of bounds, or its session is unknown or closed. A row the database refuses does not stop the
   * others: the round is then written one session at a time and the refused sessions are logged, not recorded.
   */
  recordTicks(ticks: readonly TickRecord[]): Promise<ReadonlySet<string>> {
    return this.#run((db) => writeTicks(db, ticks, this.#log));
  }

  /**
   * Records a verified voucher: raises the acknowledged amount when `owed` is higher (a lower or equal one is a
   * no-op). Throws VOUCHER_EXCEEDS_OWED when it acknowledges more than was metered.
   */
  async recordVoucher(voucher: VoucherRecord): Promise<VoucherOutcome> {
    const outcome = (await this.recordVouchers([voucher])).get(voucher);
    if (outcome instanceof LedgerError) throw outcome;
    if (!outcome) throw new LedgerError('SESSION_NOT_FOUND', `no outcome for session ${voucher.sessionId}`);
    return outcome;
  }

  /**
   * Records many verified vouchers in one statement, each as `recordVoucher` does: per session the highest voucher
   * not above the metered amount raises the acknowledged one. Answers every voucher given (by identity) with the
   * session's acknowledged amount afterwards, or its own refusal (INPUT_INVALID, SESSION_NOT_FOUND,
   * VOUCHER_EXCEEDS_OWED); one refused voucher does not stop the others.
   */
  async recordVouchers(vouchers: readonly VoucherRecord[]): Promise<Map<VoucherRecord, VoucherOutcome | LedgerError>> {
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
    const stored = await this.#run((db) =>
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

  /**
   * Credits a settlement seen on chain, idempotently by its id: a new one adds to the session's pending or final
   * total; `final` moves a pending one to final; a final credit never changes again.
   */
  creditSettlement(credit: SettlementCreditInput, status: 'pending' | 'final'): Promise<CreditOutcome> {
    return this.#run((db) => db.transaction((tx) => creditSettlement(tx, credit, status)));
  }

  /**
   * Removes the pending credits and fundings of a block that lost a fork (final ones never change); returns the
   * sessions whose credits were removed.
   */
  retractBlock(blockHash: string): Promise<string[]> {
    return this.#run((db) => db.transaction((tx) => retractBlock(tx, blockHash)));
  }

  /** Records a funding seen on chain, idempotently by its id (pending, then final). */
  recordFunding(funding: FundingInput, status: 'pending' | 'final'): Promise<void> {
    return this.#run((db) => recordFunding(db, funding, status));
  }

  /** The fundings of a session recorded so far, in chain order. */
  fundingsOf(sessionId: string): Promise<FundingRecord[]> {
    return this.#run((db) => fundingsOf(db, sessionId));
  }

  /**
   * Applies one delivery of the settlement watcher (credits and fundings, or the retraction) and `cursor` in one
   * transaction; events that can never be applied are quarantined instead of failing the block.
   */
  applyBlock(delivery: WatchedBlock, cursor?: WatcherCursor): Promise<AppliedBlock> {
    return this.#run((db) => applyBlock(db, delivery, cursor));
  }

  /** The chain events set aside because they could not be applied, of one session or all. */
  quarantined(sessionId?: string): Promise<QuarantinedEvent[]> {
    return this.#run((db) => quarantinedOf(db, sessionId));
  }

  /**
   * What was metered and not paid (owed − settled, pending and final, per session, never below 0), summed over the
   * sessions of a wallet — or, given `{ wallet, sessionAccount }`, of each, answered together. `opts` leaves out one
   * session (e.g. the one being resumed) and those of `exceptActive` that are still active (e.g. the ones watching
   * on this node right now).
   */
  debtOf(wallet: string, opts?: DebtFilter): Promise<Debt>;
  debtOf(holders: { wallet: string; sessionAccount: string }, opts?: DebtFilter): Promise<HolderDebts>;
  async debtOf(
    who: string | { wallet: string; sessionAccount: string },
    opts: DebtFilter = {},
  ): Promise<Debt | HolderDebts> {
    if (typeof who === 'string') return (await this.#run((db) => debtsOf(db, { wallet: who }, opts))).wallet;
    return this.#run((db) => debtsOf(db, who, opts));
  }

  /** The other active sessions of a session account (one funded account backs one live session), newest first. */
  activeSessionsOf(sessionAccount: string, opts: { exceptSessionId?: string } = {}): Promise<ActiveSession[]> {
    return this.#run((db) => activeSessionsOf(db, sessionAccount, opts.exceptSessionId));
  }

  /** A stream's totals across its sessions (for the creator's `stream:stats`). */
  async streamTotals(streamId: string): Promise<StreamTotals> {
    return this.#run(async (db) => {
      const [row] = await rowsOf<
        Record<'sessions' | 'active' | 'watched' | 'owed' | 'acknowledged' | 'pending' | 'final', string>
      >(
        db,
        sql`select count(*)::text as sessions,
              count(*) filter (where ${viewerSessions.status} = 'active')::text as active,
              coalesce(sum(${viewerSessions.watchedSeconds}), 0)::text as watched,
              coalesce(sum(${viewerSessions.owed}), 0)::text as owed,
              coalesce(sum(${viewerSessions.acknowledged}), 0)::text as acknowledged,
              coalesce(sum(${viewerSessions.settledPending}), 0)::text as pending,
              coalesce(sum(${viewerSessions.settledFinal}), 0)::text as final
            from ${viewerSessions}
            where ${viewerSessions.streamId} = ${streamId}`,
      );
      if (!row) throw new LedgerError('SESSION_NOT_FOUND', 'stream totals query returned nothing');
      return {
        sessions: Number(row.sessions),
        activeSessions: Number(row.active),
        watchedSeconds: Number(row.watched),
        owed: BigInt(row.owed),
        acknowledged: BigInt(row.acknowledged),
        settledPending: BigInt(row.pending),
        settledFinal: BigInt(row.final),
      };
    });
  }

  /** Where crediting stopped: the settlement watcher resumes after this final block. */
  watcherCursor(): Promise<WatcherCursor | undefined> {
    return this.#run((db) => readCursor(db));
  }

  /** Stores the settlement watcher's cursor (applyBlock stores it with the block's credits). */
  saveWatcherCursor(cursor: WatcherCursor): Promise<void> {
    return this.#run((db) => saveCursor(db, cursor));
  }

  /** Refuses new work, waits for running operations, then closes the database; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inflight]);
      await this.#database.close();
    })();
    return this.#closing;
  }
}
