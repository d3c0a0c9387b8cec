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
