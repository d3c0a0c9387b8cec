import { equals } from 'multiformats/bytes';
import { z } from 'zod';
import { decodeCanonicalJson, encodeCanonicalJson } from './canonicalJson.ts';
import { MetadataError } from './errors.ts';
import { MAX_STREAM_METADATA_BYTES, type StreamMetadata, streamMetadataSchema } from './streamMetadataSchema.ts';

/** Validates `meta` and returns its canonical DAG-JSON bytes (throws MetadataError). */
export function encodeStreamMetadata(meta: StreamMetadata): Uint8Array {
  const result = z.safeEncode(streamMetadataSchema, meta);
  if (!result.success) {
    throw new MetadataError(
      'METADATA_INVALID',
      `invalid stream metadata: ${z.prettifyError(result.error)}`,
      result.error.issues,
    );
  }
  // An absent optional field must not appear as `undefined`, which has no JSON form.
  const document = Object.fromEntries(Object.entries(result.data).filter(([, value]) => value !== undefined));
  let bytes: Uint8Array;
  try {
    bytes = encodeCanonicalJson(document);
  } catch (err) {
    throw new MetadataError('METADATA_INVALID', 'stream metadata has no canonical JSON form', [], { cause: err });
  }
  if (bytes.byteLength > MAX_STREAM_METADATA_BYTES) {
    throw new MetadataError(
      'METADATA_TOO_LARGE',
      `stream metadata is ${bytes.byteLength} bytes, over ${MAX_STREAM_METADATA_BYTES}`,
    );
  }
  return bytes;
}

/**
 * Parses and validates document bytes; only the canonical encoding is accepted, so one document has exactly one
 * CID (throws MetadataError).
 */
export function decodeStreamMetadata(bytes: Uint8Array): StreamMetadata {
  if (bytes.byteLength > MAX_STREAM_METADATA_BYTES) {
    throw new MetadataError('METADATA_TOO_LARGE', `stream metadata is over ${MAX_STREAM_METADATA_BYTES} bytes`);
  }
  let json: unknown;
  try {
    json = decodeCanonicalJson(bytes);
  } catch (err) {
    throw new MetadataError('METADATA_INVALID', 'stream metadata is not valid JSON', [], { cause: err });
  }
  const result = z.safeDecode(streamMetadataSchema, json as never);
  if (!result.success) {
    throw new MetadataError(
      'METADATA_INVALID',
      `invalid stream metadata: ${z.prettifyError(result.error)}`,
      result.error.issues,
    );
  }
  if (!equals(encodeStreamMetadata(result.data), bytes)) {
    throw new MetadataError('METADATA_INVALID', 'stream metadata is not in canonical DAG-JSON form');
  }
  return result.data;
}
