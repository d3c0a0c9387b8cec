import { setImmediate as nextTurn } from 'node:timers/promises';
import type { VoucherOutcome, VoucherRecord } from '../ledger/Ledger.ts';

/**
 * Signatures verified per turn of the event loop: an ed25519 check takes 65–100 µs, so a round of many sessions
 * yields every few ms instead of holding the loop (and every viewer's tick and ack) for the whole round.
 */
export const VERIFY_SLICE = 50;

/** Longest period between due rounds: a session's voucher is verified at most this late after it fell due. */
export const MAX_ROUND_PERIOD_MS = 1_000;

/** A voucher as a viewer sent it: its tick, the cumulative amount and the session key's signature (hex). */
export interface SignedVoucher {
  readonly seq: number;
  readonly owed: bigint;
  readonly signature: string;
}

/** Writes verified vouchers in one batch; answers each one (by identity) with its outcome or refusal. */
export type VerifiedVoucherWriter = (
  vouchers: readonly VoucherRecord[],
) => Promise<ReadonlyMap<VoucherRecord, VoucherOutcome | Error>>;

/** How the verification rounds run and whom they tell (`V`: the vouchers kept, with whatever verifying needs). */
export interface VoucherRoundsOptions<V extends SignedVoucher = SignedVoucher> {
  /**
   * How long a session's newest voucher may wait unverified: it falls due this long after the first voucher that
   * found nothing waiting, so each session is verified about once per interval, at its own phase.
   */
  intervalMs: number;
  /** Whether a session's voucher carries a valid signature (e.g. ed25519 over the voucher message). */
  verify(sessionId: string, voucher: V): boolean;
  /** Writes the round's verified vouchers (one call per round). */
  write: VerifiedVoucherWriter;
  /** A verified voucher was written; `acknowledged` is the session's acknowledged amount in the ledger afterwards. */
  onVerified(sessionId: string, voucher: V, acknowledged: bigint): void;
  /** A session's newest voucher failed verification (reported before the round's write). */
  onInvalid(sessionId: string, voucher: V): void;
  /** A write or callback failure (the rounds keep running). */
  onError?(err: unknown, sessionId?: string): void;
  /**
   * Whether due rounds run on a timer of their own (default true). Without one, the owner calls `runDue()` in a rhythm
   * of its own, e.g. once per tick round, so that a round's write never lands while answers to ticks are in flight.
   */
  timer?: boolean;
}

interface Verified<V> {
  readonly sessionId: string;
  readonly voucher: V;
  readonly record: VoucherRecord;
}

/**
 * Coalesced voucher verification. Vouchers are cumulative, so only each session's newest one counts: `receive()`
 * keeps it (no signature check, no write); the session falls due `intervalMs` later, and a round (every
 * `min(intervalMs, MAX_ROUND_PERIOD_MS)`) verifies just the newest voucher of each session due and writes the valid
 * ones in one batch. One signature check per session and interval instead of one per tick, and since sessions fall
 * due at their own phase, each round carries an even share of them, not all at once. `flush()` verifies and writes a
 * session's pending voucher at once (before the session closes); rounds never overlap, so a newer voucher's write
 * never lands before an older one's.
 */
export class VoucherRounds<V extends SignedVoucher = SignedVoucher> {
  readonly #opts: VoucherRoundsOptions<V>;
  #pending = new Map<string, V>();
  /** Sessions by the time (performance.now()) their waiting voucher falls due, oldest first; `#dueHead` is the front. */
  #due: { readonly sessionId: string; readonly at: number }[] = [];
  /**
   * When each waiting voucher falls due: a due entry left by a voucher that was flushed (or forgotten) meanwhile does
   * not count for the session's next one, or every flush would start a second chain of rounds for the session.
   */
  readonly #dueAt = new Map<string, number>();
  #dueHead = 0;
  readonly #flushIds = new Set<string>();
  #flushRound: Promise<void> | undefined;
  /** The last round queued: rounds run one after the other. */
  #chain: Promise<void> = Promise.resolve();
  #dueRunning = false;
  #timer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(opts: VoucherRoundsOptions<V>) {
    if (!(opts.intervalMs > 0)) throw new RangeError('intervalMs must be positive');
    this.#opts = opts;
    if (opts.timer !== false) {
      this.#timer = setInterval(() => void this.runDue(), Math.min(opts.intervalMs, MAX_ROUND_PERIOD_MS));
      this.#timer.unref();
    }
  }

  /** Sessions with a voucher waiting for verification. */
  get pending(): number {
    return this.#pending.size;
  }

  /** The session's voucher waiting for verification, if any. */
  pendingOf(sessionId: string): V | undefined {
    return this.#pending.get(sessionId);
  }

  /** Keeps a voucher for the next round, unless the session's waiting one is newer (a resent tick replaces it). */
  receive(sessionId: string, voucher: V): void {
    const current = this.#pending.get(sessionId);
    if (current && current.seq > voucher.seq) return;
    if (!current) {
      const at = performance.now() + this.#opts.intervalMs;
      this.#dueAt.set(sessionId, at);
      this.#due.push({ sessionId, at });
    }
    this.#pending.set(sessionId, voucher);
  }

  /** Drops the session's waiting voucher (nothing of it is written). */
  forget(sessionId: string): void {
    this.#pending.delete(sessionId);
    this.#dueAt.delete(sessionId);
  }

  /**
   * Verifies and writes the session's waiting voucher now, together with the other sessions flushed in the same turn
   * of the event loop; settles once written (or at once after the round in progress when nothing waits).
   */
  flush(sessionId: string): Promise<void> {
    if (!this.#pending.has(sessionId)) return this.#chain;
    this.#flushIds.add(sessionId);
    this.#flushRound ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      const ids = [...this.#flushIds];
      this.#flushIds.clear();
      this.#flushRound = undefined;
      return this.#enqueue(ids);
    });
    return this.#flushRound;
  }

  /** Stops the timer and runs a last round of every waiting voucher; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      this.#timer = undefined;
      await this.#flushRound;
      await this.#enqueue('all');
    })();
    return this.#closing;
  }

  /** Verifies and writes the vouchers due now; settles once written (at once if a due round is still running). */
  runDue(): Promise<void> {
    // A round still writing makes this one redundant: its vouchers simply wait one more period.
    if (this.#dueRunning || this.#closing) return Promise.resolve();
    this.#dueRunning = true;
    return this.#enqueue('due').finally(() => {
      this.#dueRunning = false;
    });
  }

  /** Queues a round over the given sessions (`due`: those due now; `all`: every one) after the rounds queued. */
  #enqueue(ids: readonly string[] | 'due' | 'all'): Promise<void> {
    const round = this.#chain.then(() => this.#round(ids === 'due' ? this.#takeDue() : ids));
    this.#chain = round;
    return round;
  }

  /** The sessions due now (a session flushed or forgotten since it fell due has nothing waiting and is skipped). */
  #takeDue(): string[] {
    const now = performance.now();
    const ids: string[] = [];
    while (this.#dueHead < this.#due.length) {
      const next = this.#due[this.#dueHead] as { sessionId: string; at: number };
      if (next.at > now) break;
      this.#dueHead++;
      if (this.#dueAt.get(next.sessionId) === next.at) ids.push(next.sessionId);
    }
    if (this.#dueHead > 1024 && this.#dueHead * 2 > this.#due.length) {
      this.#due = this.#due.slice(this.#dueHead);
      this.#dueHead = 0;
    }
    return ids;
  }

  async #round(ids: readonly string[] | 'all'): Promise<void> {
    let taken: [string, V][];
    if (ids === 'all') {
      taken = [...this.#pending];
      this.#pending = new Map();
      this.#dueAt.clear();
      this.#due = [];
      this.#dueHead = 0;
    } else {
      taken = [];
      for (const id of ids) {
        const v = this.#pending.get(id);
        if (v === undefined) continue;
        this.#pending.delete(id);
        this.#dueAt.delete(id);
        taken.push([id, v]);
      }
    }
    if (taken.length === 0) return;
    const verified: Verified<V>[] = [];
    for (let i = 0; i < taken.length; i++) {
      if (i > 0 && i % VERIFY_SLICE === 0) await nextTurn();
      const [sessionId, voucher] = taken[i] as [string, V];
      let valid = false;
      try {
        valid = this.#opts.verify(sessionId, voucher);
      } catch (err) {
        this.#report(err, sessionId);
      }
      if (valid) verified.push({ sessionId, voucher, record: { sessionId, seq: voucher.seq, owed: voucher.owed } });
      else this.#call(() => this.#opts.onInvalid(sessionId, voucher), sessionId);
    }
    if (verified.length === 0) return;
    let outcomes: ReadonlyMap<VoucherRecord, VoucherOutcome | Error>;
    try {
      outcomes = await this.#opts.write(verified.map((v) => v.record));
    } catch (err) {
      this.#report(err);
      // Kept for the next round unless a newer voucher came meanwhile (verified again then: a rare path).
      for (const v of verified) if (!this.#pending.has(v.sessionId)) this.receive(v.sessionId, v.voucher);
      return;
    }
    for (const v of verified) {
      const outcome = outcomes.get(v.record);
      if (outcome === undefined) this.#report(new Error(`no outcome for session ${v.sessionId}`), v.sessionId);
      else if (outcome instanceof Error) this.#report(outcome, v.sessionId);
      else this.#call(() => this.#opts.onVerified(v.sessionId, v.voucher, outcome.acknowledged), v.sessionId);
    }
  }

  #call(fn: () => void, sessionId: string): void {
    try {
      fn();
    } catch (err) {
      this.#report(err, sessionId);
    }
  }

  #report(err: unknown, sessionId?: string): void {
    try {
      this.#opts.onError?.(err, sessionId);
    } catch {
      // An error handler that throws has nowhere left to report to.
    }
  }
}
