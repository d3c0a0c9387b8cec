import { LedgerError } from '../ledger/errors.ts';
import type { VoucherOutcome, VoucherRecord } from '../ledger/Ledger.ts';

/** Writes a batch of vouchers; answers each one (by identity) with its outcome or refusal. */
export type VoucherBatchWriter = (
  vouchers: readonly VoucherRecord[],
) => Promise<ReadonlyMap<VoucherRecord, VoucherOutcome | Error>>;

interface Pending {
  readonly voucher: VoucherRecord;
  resolve(outcome: VoucherOutcome): void;
  reject(err: Error): void;
}

/** Largest batch written in one statement by default. */
export const DEFAULT_MAX_VOUCHER_BATCH = 2_000;

/**
 * Groups vouchers into few ledger writes: the first voucher is written on the next turn of the event loop (with the
 * others that arrived in the same turn), and the vouchers that arrive while a batch is being written make up the next
 * one. One statement for many vouchers instead of one each: under load the write rate follows the database's speed,
 * not the number of viewers.
 */
export class VoucherBatcher {
  readonly #write: VoucherBatchWriter;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  #writing: Promise<void> | undefined;
  #scheduled = false;
  #closed = false;

  constructor(write: VoucherBatchWriter, opts: { maxBatch?: number } = {}) {
    this.#write = write;
    this.#maxBatch = opts.maxBatch ?? DEFAULT_MAX_VOUCHER_BATCH;
  }

  /** Vouchers waiting for the next batch. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Records a voucher with the next batch; settles with its own outcome (LEDGER_CLOSED once closed). */
  record(voucher: VoucherRecord): Promise<VoucherOutcome> {
    if (this.#closed) return Promise.reject(new LedgerError('LEDGER_CLOSED', 'the voucher batcher is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ voucher, resolve, reject });
      if (!this.#writing && !this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#next();
        });
      }
    });
  }

  /** Writes the next batch unless one is being written (its end starts the next). */
  #next(): void {
    if (this.#writing || this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, this.#maxBatch);
    this.#writing = this.#run(batch).finally(() => {
      this.#writing = undefined;
      this.#next();
    });
  }

  async #run(batch: readonly Pending[]): Promise<void> {
    try {
      const outcomes = await this.#write(batch.map((p) => p.voucher));
      for (const p of batch) {
        const outcome = outcomes.get(p.voucher);
        if (outcome instanceof Error) p.reject(outcome);
        else if (outcome) p.resolve(outcome);
        else p.reject(new LedgerError('SESSION_NOT_FOUND', `no outcome for session ${p.voucher.sessionId}`));
      }
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      for (const p of batch) p.reject(error);
    }
  }

  /** Rejects the vouchers not yet written (LEDGER_CLOSED) and waits for the batch being written; safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    const dropped = this.#queue;
    this.#queue = [];
    for (const p of dropped) p.reject(new LedgerError('LEDGER_CLOSED', 'the voucher batcher is closed'));
    await this.#writing;
  }
}
