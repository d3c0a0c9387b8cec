/** Stable codes of metadata fetch failures, with whether trying again later may succeed. */
export const METADATA_FETCH_ERRORS = {
  /** The gateway did not answer, timed out or failed (network error, 5xx). */
  GATEWAY_UNAVAILABLE: { retry: true },
  /** The gateway does not have a block of the document. */
  BLOCK_NOT_FOUND: { retry: true },
  /** The gateway answered bytes that do not hash to the requested CID. */
  BLOCK_MISMATCH: { retry: true },
  /** A block was larger than any block of a valid document; unverifiable without downloading it. */
  BLOCK_TOO_LARGE: { retry: true },
  /** The gateway refused the request or answered something that is not a raw block. */
  GATEWAY_REFUSED: { retry: true },
  /** The CID is malformed or uses a hash function this indexer cannot verify. */
  CID_UNSUPPORTED: { retry: false },
  /** The CID names something other than a file (a directory, a DAG-CBOR object…). */
  NOT_A_FILE: { retry: false },
  /** The file is larger than a metadata document may be. */
  METADATA_TOO_LARGE: { retry: false },
  /** The file is not canonical DAG-JSON or fails the stream metadata schema. */
  METADATA_INVALID: { retry: false },
} as const satisfies Record<string, { retry: boolean }>;

/** One of the stable metadata fetch codes. */
export type MetadataFetchErrorCode = keyof typeof METADATA_FETCH_ERRORS;

/** A metadata document that could not be fetched, verified or validated. */
export class MetadataFetchError extends Error {
  override readonly name = 'MetadataFetchError';

  constructor(
    readonly code: MetadataFetchErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** True when a later attempt may succeed (the content itself was not shown to be bad). */
  get retryable(): boolean {
    return METADATA_FETCH_ERRORS[this.code].retry;
  }
}
