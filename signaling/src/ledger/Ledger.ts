import { MAX_PRICE_PER_SECOND, type WatchedBlock } from '@persecond/contracts-client';
import { eq, sql } from 'drizzle-orm';
import { type Logger, pino } from 'pino';
import { canonicalAccount } from './accounts.ts';
import { LedgerAvailability } from './availability.ts';
import type { LedgerConfig } from './config.ts';
import { type LedgerDatabase, type LedgerDb, openLedgerDatabase } from './database.ts';
import { LedgerError } from './errors.ts';
import { type FundingInput, type FundingRecord, fundingsOf, recordFunding } from './fundings.ts';
import {
  checkTick,
  type TickRecord,
  type VoucherOutcome,
  type VoucherRecord,
  writeTick,
  writeTicks,
  writeVouchers,
} from './meteringWrites.ts';
import { type QuarantinedEvent, quarantinedOf } from './quarantine.ts';
import {
  type ActiveSession,
  activeSessionsOf,
  type Debt,
  type DebtFilter,
  debtsOf,
  type HolderDebts,
  type StreamEndTotals,
  type StreamTotals,
  streamEndTotals,
  streamTotals,
} from './reports.ts';
import { assetText, checkAmount, type LedgerSession, type SessionOpening, toSession } from './rows.ts';
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

export type { AvailabilityHooks, LedgerHealth } from './availability.ts';
export type { FundingInput, FundingRecord } from './fundings.ts';
export type { TickRecord, VoucherOutcome, VoucherRecord } from './meteringWrites.ts';
export type { QuarantinedEvent } from './quarantine.ts';
export type { ActiveSession, Debt, DebtFilter, HolderDebts, StreamEndTotals, StreamTotals } from './reports.ts';
export type { LedgerSession, SessionOpening } from './rows.ts';
export type {
  AppliedBlock,
  CreditOutcome,
  SettlementChange,
  SettlementCreditInput,
  WatcherCursor,
} from './settlementCredits.ts';

/** A wallet's debt (the shape `debtOf(wallet)` answers). */
export type WalletDebt = Debt;

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
  /** Whether the database is reachable; operations that fail for want of it reject LEDGER_UNAVAILABLE. */
  readonly availability: LedgerAvailability;

  private constructor(database: LedgerDatabase, log: Logger) {
    this.#database = database;
    this.#log = log;
    // Only a server can go away while the node runs; an embedded database lives and dies with the process.
    this.availability = new LedgerAvailability(
      database.kind === 'postgres' ? () => this.#run((db) => db.execute(sql`select 1`)) : undefined,
    );
  }

  /** Opens (and migrates) the configured database; `log` gets the writes it could not make (default: none). */
  static async open(config: LedgerConfig, opts: { log?: Logger } = {}): Promise<Ledger> {
    return new Ledger(await openLedgerDatabase(config), opts.log ?? pino({ level: 'silent' }));
  }

  /** Which engine holds the data. */
  get kind(): 'pglite' | 'postgres' {
    return this.#database.kind;
  }

  /**
   * Runs `op` on the ledger's database unless closed (close() waits for it): for the stores of other modules that
   * keep their tables in the same database and schema (e.g. chat).
   */
  use<T>(op: (db: LedgerDb) => Promise<T>): Promise<T> {
    return this.#run(op);
  }

  /** Runs one operation unless closed; close() waits for running ones. */
  #run<T>(op: (db: LedgerDb) => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(new LedgerError('LEDGER_CLOSED', 'the ledger is closed'));
    // Wrapped so a drizzle query returned as is (a lazy thenable that runs on every then()) runs once, not once for
    // the in-flight bookkeeping and again for the caller.
    const availability = this.availability;
    const p = (async () => op(this.#database.db))().then(
      (value) => {
        availability.succeeded();
        return value;
      },
      (err: unknown) => {
        throw availability.failed(err);
      },
    );
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
      kind: opening.kind ?? 'live',
    };
    return this.#run(async (db) => {
      const [created] = await db.insert(viewerSessions).values(values).onConflictDoNothing().returning();
      if (created) return { session: toSession(created), resumed: false };
      const [existing] = await db.select().from(viewerSessions).where(eq(viewerSessions.sessionId, values.sessionId));
      if (!existing) throw new LedgerError('SESSION_NOT_FOUND', `session ${values.sessionId} vanished while opening`);
      for (const key of [
        'streamId',
        'wallet',
        'sessionAccount',
        'creator',
        'asset',
        'pricePerSecond',
        'kind',
      ] as const) {
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
    return this.#run((db) => writeTick(db, tick, this.#log));
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
  recordVouchers(vouchers: readonly VoucherRecord[]): Promise<Map<VoucherRecord, VoucherOutcome | LedgerError>> {
    return writeVouchers(vouchers, (op) => this.#run(op));
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

  /** A stream's amounts across its live viewer sessions (the creator's `stream:stats`), or its replay's. */
  streamTotals(streamId: string, kind: 'live' | 'replay' = 'live'): Promise<StreamTotals> {
    return this.#run((db) => streamTotals(db, streamId, kind));
  }

  /** A stream's amounts, what of them is not settled yet, and its audience (the creator's end-of-stream summary). */
  streamEndTotals(streamId: string): Promise<StreamEndTotals> {
    return this.#run((db) => streamEndTotals(db, streamId));
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
      this.availability.close();
      await Promise.allSettled([...this.#inflight]);
      await this.#database.close();
    })();
    return this.#closing;
  }
}
