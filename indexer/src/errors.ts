/** Stable error codes of the indexer (never renamed). */
export type IndexerErrorCode =
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'CHAIN_UNAVAILABLE'
  /** A chain request failed or timed out (retryable). */
  | 'RPC_FAILED'
  /** A block or its events do not decode with the runtime it was built with (fatal: the bytes will not change). */
  | 'DECODE_FAILED'
  /** The chain served data the indexer cannot accept, e.g. a block without its timestamp inherent (fatal). */
  | 'CHAIN_DATA_INVALID'
  | 'FINALITY_VIOLATION'
  | 'CLOSED'
  | 'INTERNAL';

/** Codes that retrying cannot fix: the follower stops on them instead of retrying. */
const FATAL_CODES: ReadonlySet<IndexerErrorCode> = new Set([
  'DECODE_FAILED',
  'CHAIN_DATA_INVALID',
  'FINALITY_VIOLATION',
  'INTERNAL',
]);

/** An indexer failure with a stable code; `fatal` when retrying cannot fix it. */
export class IndexerError extends Error {
  override readonly name = 'IndexerError';
  constructor(
    readonly code: IndexerErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  get fatal(): boolean {
    return FATAL_CODES.has(this.code);
  }
}

/**
 * SQLSTATE classes of PostgreSQL errors worth retrying: connection exceptions (08), transaction rollbacks such as
 * serialization failures and deadlocks (40), insufficient resources (53), operator intervention such as a server
 * shutdown (57) and system errors (58). Any other SQLSTATE (constraint, syntax, data errors) repeats on retry.
 */
const RETRYABLE_SQLSTATE = /^(08|40|53|57|58)/;

/**
 * How the follower treats a failure (squid-sdk style): 'retry' for transient ones (chain requests, lost connections,
 * a busy database), 'fatal' for those that would fail the same way forever. Walks the `cause` chain (drizzle wraps
 * driver errors); an error it knows nothing about is retried.
 */
export function errorKind(err: unknown): 'retry' | 'fatal' {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof IndexerError) return e.fatal ? 'fatal' : 'retry';
    const sqlState = (e as { code?: unknown }).code;
    if (typeof sqlState === 'string' && /^[0-9A-Z]{5}$/.test(sqlState)) {
      return RETRYABLE_SQLSTATE.test(sqlState) ? 'retry' : 'fatal';
    }
  }
  return 'retry';
}

/** The stable code of a failure, or 'UNKNOWN' (for metrics labels and status). */
export function errorCode(err: unknown): string {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof IndexerError) return e.code;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return 'UNKNOWN';
}
