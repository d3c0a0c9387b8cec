import * as dagJson from '@ipld/dag-json';
import { IpfsError } from './errors.ts';

/**
 * Canonical JSON bytes of `value` (DAG-JSON: sorted keys, no whitespace, no undefined/NaN/Infinity),
 * so equal documents always have equal bytes and therefore equal CIDs.
 */
export function encodeCanonicalJson(value: unknown): Uint8Array {
  try {
    return dagJson.encode(value);
  } catch (err) {
    throw new IpfsError('IPFS_INVALID_JSON', `value has no canonical JSON form: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Parses DAG-JSON bytes (strict: rejects malformed or non-JSON input). */
export function decodeCanonicalJson(bytes: Uint8Array): unknown {
  try {
    return dagJson.decode(bytes);
  } catch (err) {
    throw new IpfsError('IPFS_INVALID_JSON', `bytes are not valid DAG-JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
