import {
  decodeCanonicalJson as decodeDagJson,
  encodeCanonicalJson as encodeDagJson,
} from '@persecond/contracts-client/metadata';
import { IpfsError } from './errors.ts';

/**
 * Canonical JSON bytes of `value` (the shared DAG-JSON form of `@persecond/contracts-client/metadata`);
 * a value with no such form is IPFS_INVALID_JSON.
 */
export function encodeCanonicalJson(value: unknown): Uint8Array {
  try {
    return encodeDagJson(value);
  } catch (err) {
    throw new IpfsError('IPFS_INVALID_JSON', `value has no canonical JSON form: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Parses DAG-JSON bytes (strict: malformed or non-JSON input is IPFS_INVALID_JSON). */
export function decodeCanonicalJson(bytes: Uint8Array): unknown {
  try {
    return decodeDagJson(bytes);
  } catch (err) {
    throw new IpfsError('IPFS_INVALID_JSON', `bytes are not valid DAG-JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
