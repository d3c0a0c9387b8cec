/** Stable error codes of the indexer (never renamed). */
export type IndexerErrorCode =
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'CHAIN_UNAVAILABLE'
  | 'FINALITY_VIOLATION'
  | 'CLOSED'
  | 'INTERNAL';

/** An indexer failure with a stable code. */
export class IndexerError extends Error {
  override readonly name = 'IndexerError';
  constructor(
    readonly code: IndexerErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
