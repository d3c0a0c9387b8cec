import type { z } from 'zod';

/** Stable codes of stream metadata failures. */
export type MetadataErrorCode = 'METADATA_INVALID' | 'METADATA_TOO_LARGE';

/** A stream metadata document that is malformed, fails the schema, is not canonical or is too large. */
export class MetadataError extends Error {
  override readonly name = 'MetadataError';

  constructor(
    readonly code: MetadataErrorCode,
    message: string,
    /** Schema issues, when the document parsed as JSON but failed validation. */
    readonly issues: readonly z.core.$ZodIssue[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
