import type { CID } from 'multiformats/cid';

/** Options accepted by every pinner operation. */
export interface OperationOptions {
  /** Aborts the operation (it then rejects with IPFS_ABORTED). */
  signal?: AbortSignal;
}

/** Options of `Pinner.cat`. */
export interface CatOptions extends OperationOptions {
  /** Largest file accepted; a bigger one rejects with IPFS_TOO_LARGE. Default 16 MiB. */
  maxBytes?: number;
}

/** Default `CatOptions.maxBytes`. */
export const DEFAULT_CAT_MAX_BYTES = 16 * 1024 * 1024;

/** Default size limit of `Pinner.getBlock`: the largest block peers exchange (Bitswap's 2 MiB). */
export const DEFAULT_BLOCK_MAX_BYTES = 2 * 1024 * 1024;

/** Content-addressed storage with pins; both backends produce Kubo-compatible CIDv1s. */
export interface Pinner {
  /** Which backend this is. */
  readonly backend: 'helia' | 'kubo';
  /** Stores `bytes` as a UnixFS file (Kubo layout), pins it and returns its CID. */
  add(bytes: Uint8Array, options?: OperationOptions): Promise<CID>;
  /** Stores the canonical (DAG-JSON) encoding of `value` as a UnixFS file, pins it and returns its CID. */
  addJson(value: unknown, options?: OperationOptions): Promise<CID>;
  /** Reads a whole UnixFS file. */
  cat(cid: CID | string, options?: CatOptions): Promise<Uint8Array>;
  /**
   * Reads one raw block from the node's own storage, never from the network: IPFS_NOT_FOUND when absent,
   * IPFS_TOO_LARGE above `maxBytes` (default DEFAULT_BLOCK_MAX_BYTES).
   */
  getBlock(cid: CID | string, options?: CatOptions): Promise<Uint8Array>;
  /** Pins a DAG recursively (idempotent). */
  pin(cid: CID | string, options?: OperationOptions): Promise<void>;
  /** True when the block is pinned, directly or as part of a pinned DAG. */
  isPinned(cid: CID | string, options?: OperationOptions): Promise<boolean>;
  /** Rejects pending work with IPFS_CLOSED, then releases everything; safe to call twice. */
  close(): Promise<void>;
}
