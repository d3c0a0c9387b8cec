/** Stable codes of ledger failures. */
export type LedgerErrorCode =
  | 'LEDGER_CLOSED'
  | 'LEDGER_LOCKED'
  | 'SESSION_NOT_FOUND'
  | 'SESSION_CLOSED'
  | 'SESSION_MISMATCH'
  | 'TICK_INVALID'
  | 'VOUCHER_EXCEEDS_OWED'
  | 'INPUT_INVALID'
  /** A price or budget outside the bounds every sum is checked against (protocol code AMOUNT_OUT_OF_RANGE). */
  | 'AMOUNT_OUT_OF_RANGE'
  /** The database cannot be reached (down, restarting, connection cut): retry shortly (protocol LEDGER_UNAVAILABLE). */
  | 'LEDGER_UNAVAILABLE';

/** A refused ledger operation, with a stable code. */
export class LedgerError extends Error {
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'LedgerError';
  }
}
