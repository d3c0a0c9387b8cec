import type { AckError, ErrorCode } from './protocol.ts';

/** An error with a stable code that travels to clients as `{ ok: false, code, message }`. */
export class SignalingError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, string>,
  ) {
    super(message);
    this.name = 'SignalingError';
  }

  /** The ack a client receives for this error. */
  toAck(): AckError {
    return { ok: false, code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/** When a client may try again a request refused because the ledger's database is away. */
export const LEDGER_RETRY_AFTER_MS = 2_000;

/** The refusal of a request that needed the ledger's database while it cannot be reached: retryable, not INTERNAL. */
export function ledgerUnavailable(): SignalingError {
  return new SignalingError('LEDGER_UNAVAILABLE', 'payments cannot be recorded right now; try again shortly', {
    retryAfterMs: String(LEDGER_RETRY_AFTER_MS),
  });
}
