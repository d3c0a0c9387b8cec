import {
  decodeStreamMetadata,
  MAX_STREAM_METADATA_BYTES,
  MetadataError,
  type StreamMetadata,
  type StreamMetadataDocument,
} from '@persecond/contracts-client/metadata';
import { u8aConcatStrict } from '@polkadot/util';
import { exporter } from 'ipfs-unixfs-exporter';
import { CID } from 'multiformats/cid';
import { MetadataFetchError } from './errors.ts';
import type { GatewayBlockstore } from './GatewayBlockstore.ts';

/** A validated stream metadata document: as code sees it (bigint money) and as stored on IPFS. */
export interface FetchedMetadata {
  metadata: StreamMetadata;
  document: StreamMetadataDocument;
}

/** Most blocks one document may take: a valid one is one block (a raw leaf) or a few. */
const MAX_BLOCKS = 64;

/**
 * Fetches the stream metadata file at `cidText` block by block through `blocks` (each verified against its CID),
 * walks the UnixFS DAG with ipfs-unixfs-exporter and validates the document with signaling's schema (canonical
 * DAG-JSON only). Throws MetadataFetchError, or the signal's reason when aborted.
 */
export async function fetchMetadataDocument(
  blocks: GatewayBlockstore,
  cidText: string,
  signal: AbortSignal,
): Promise<FetchedMetadata> {
  let cid: CID;
  try {
    cid = CID.parse(cidText);
  } catch (err) {
    throw new MetadataFetchError('CID_UNSUPPORTED', `not a CID: ${JSON.stringify(cidText.slice(0, 100))}`, {
      cause: err,
    });
  }
  let fetched = 0;
  const counted = {
    get: (block: CID, options?: { signal?: AbortSignal }) => {
      if (++fetched > MAX_BLOCKS) {
        throw new MetadataFetchError('METADATA_TOO_LARGE', `${cid} takes more than ${MAX_BLOCKS} blocks`);
      }
      return blocks.get(block, options);
    },
  };
  const walk = async (): Promise<Uint8Array> => {
    const entry = await exporter(cid, counted, { signal });
    if (entry.type !== 'file' && entry.type !== 'raw' && entry.type !== 'identity') {
      throw new MetadataFetchError('NOT_A_FILE', `${cid} is a ${entry.type}, not a file`);
    }
    // The size comes from the verified root block, so it can be trusted before reading the rest.
    if (entry.size > BigInt(MAX_STREAM_METADATA_BYTES)) {
      throw new MetadataFetchError('METADATA_TOO_LARGE', `${cid} is ${entry.size} bytes`);
    }
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of entry.content({ signal })) {
      size += chunk.byteLength;
      if (size > MAX_STREAM_METADATA_BYTES) throw new MetadataFetchError('METADATA_TOO_LARGE', `${cid} is too large`);
      parts.push(chunk);
    }
    return u8aConcatStrict(parts, size);
  };
  let bytes: Uint8Array;
  try {
    bytes = await walk();
  } catch (err) {
    signal.throwIfAborted();
    if (err instanceof MetadataFetchError) throw err;
    // Every block was verified, so a DAG the exporter cannot read is the content's fault.
    throw new MetadataFetchError('NOT_A_FILE', `${cid} is not a UnixFS file: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    const metadata = decodeStreamMetadata(bytes);
    // Canonical DAG-JSON of a schema-valid document is plain JSON (strings and integers only).
    return { metadata, document: JSON.parse(new TextDecoder().decode(bytes)) as StreamMetadataDocument };
  } catch (err) {
    if (err instanceof MetadataError) {
      throw new MetadataFetchError(err.code, err.message, { cause: err });
    }
    throw err;
  }
}
