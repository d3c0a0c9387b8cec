import { createCipheriv } from 'node:crypto';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';

/** Deterministic pseudo-random bytes (AES-256-CTR keystream of `seed`), fast enough for tens of MB (test helper). */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const key = Buffer.alloc(32, seed & 0xff);
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(seed >>> 0, 0);
  return new Uint8Array(createCipheriv('aes-256-ctr', key, iv).update(Buffer.alloc(length)));
}

/** An empty UnixFS directory node and its CIDv1, to check that reading a directory as a file is refused. */
export async function emptyDirectoryBlock(): Promise<{ cid: CID; bytes: Uint8Array }> {
  const bytes = dagPb.encode({ Data: new UnixFS({ type: 'directory' }).marshal(), Links: [] });
  return { cid: CID.createV1(dagPb.code, await sha256.digest(bytes)), bytes };
}
