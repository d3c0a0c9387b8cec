import * as dagJson from '@ipld/dag-json';

/**
 * Canonical JSON bytes of `value` (DAG-JSON: sorted keys, no whitespace, no undefined/NaN/Infinity),
 * so equal documents always have equal bytes and therefore equal CIDs. Throws when `value` has no such form.
 */
export function encodeCanonicalJson(value: unknown): Uint8Array {
  return dagJson.encode(value);
}

/** Parses DAG-JSON bytes (strict: throws on malformed or non-JSON input). */
export function decodeCanonicalJson(bytes: Uint8Array): unknown {
  return dagJson.decode(bytes);
}
