import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';

/** Kubo's default chunk size (`--chunker=size-262144`). */
export const KUBO_CHUNK_SIZE = 262_144;

/** Kubo's default maximum links per UnixFS file node. */
export const KUBO_MAX_LINKS = 174;

/**
 * Importer options that give the same DAG as `ipfs add --cid-version=1` on a default Kubo
 * (@helia/unixfs defaults to 1 MiB chunks and 1024 links, which yields different CIDs).
 */
export function kuboImportOptions() {
  return {
    cidVersion: 1,
    rawLeaves: true,
    chunker: fixedSize({ chunkSize: KUBO_CHUNK_SIZE }),
    layout: balanced({ maxChildrenPerNode: KUBO_MAX_LINKS }),
  } as const;
}

/** The same layout expressed as Kubo RPC `add` parameters. */
export const KUBO_ADD_PARAMS = {
  cidVersion: 1,
  rawLeaves: true,
  chunker: `size-${KUBO_CHUNK_SIZE}`,
  hashAlg: 'sha2-256',
} as const;
