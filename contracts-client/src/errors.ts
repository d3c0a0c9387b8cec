/** Stable error codes of contracts-client (never renamed; shared with signaling where they overlap). */
export const ErrorCode = {
  CHAIN_UNSUPPORTED: 'CHAIN_UNSUPPORTED',
  CHAIN_UNAVAILABLE: 'CHAIN_UNAVAILABLE',
  BAD_REQUEST: 'BAD_REQUEST',
  NONCE_INVALID: 'NONCE_INVALID',
  SIGNATURE_INVALID: 'SIGNATURE_INVALID',
  SIWS_EXPIRED: 'SIWS_EXPIRED',
  SIWS_WRONG_DOMAIN: 'SIWS_WRONG_DOMAIN',
  SIWS_WRONG_CHAIN: 'SIWS_WRONG_CHAIN',
  DELEGATION_INVALID: 'DELEGATION_INVALID',
  VOUCHER_INVALID: 'VOUCHER_INVALID',
  AMOUNT_INVALID: 'AMOUNT_INVALID',
  CLOSED: 'CLOSED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Error thrown by contracts-client; `code` is stable, `message` is for humans. */
export class ContractsClientError extends Error {
  override readonly name = 'ContractsClientError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}
