import {
  decodeStreamMetadata,
  encodeStreamMetadata,
  MAX_STREAM_METADATA_BYTES,
  MetadataError,
  type StreamMetadata,
} from '@persecond/contracts-client/metadata';
import type { CID } from 'multiformats/cid';
import { isIpfsError } from '../ipfs/errors.ts';
import type { OperationOptions, Pinner } from '../ipfs/Pinner.ts';

/** Validates, canonically encodes and pins a stream metadata document; returns its CID. */
export async function pinStreamMetadata(
  pinner: Pinner,
  meta: StreamMetadata,
  options?: OperationOptions,
): Promise<CID> {
  return pinner.add(encodeStreamMetadata(meta), options);
}

/**
 * Reads a stream metadata document and validates it: oversized → METADATA_TOO_LARGE, malformed, non-canonical or
 * off-schema → METADATA_INVALID; IPFS failures (not found, bad CID, closed) stay IpfsErrors.
 */
export async function fetchStreamMetadata(
  pinner: Pinner,
  cid: CID | string,
  options?: OperationOptions,
): Promise<StreamMetadata> {
  let bytes: Uint8Array;
  try {
    bytes = await pinner.cat(cid, { ...options, maxBytes: MAX_STREAM_METADATA_BYTES });
  } catch (err) {
    if (isIpfsError(err, 'IPFS_TOO_LARGE')) {
      throw new MetadataError(
        'METADATA_TOO_LARGE',
        `stream metadata ${cid} is over ${MAX_STREAM_METADATA_BYTES} bytes`,
        [],
        {
          cause: err,
        },
      );
    }
    throw err;
  }
  return decodeStreamMetadata(bytes);
}
