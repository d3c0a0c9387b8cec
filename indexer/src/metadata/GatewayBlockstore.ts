import { u8aConcatStrict } from '@polkadot/util';
import { equals } from 'multiformats/bytes';
import type { CID } from 'multiformats/cid';
import { identity } from 'multiformats/hashes/identity';
import type { MultihashHasher } from 'multiformats/hashes/interface';
import { sha256, sha512 } from 'multiformats/hashes/sha2';
import { MetadataFetchError } from './errors.ts';

/** Media type of a raw block (trustless gateway spec). */
const RAW_BLOCK = 'application/vnd.ipld.raw';

/** Hash functions whose blocks can be verified (Kubo and Helia use sha2-256). */
const HASHERS: ReadonlyMap<number, MultihashHasher<number>> = new Map<number, MultihashHasher<number>>([
  [sha256.code, sha256],
  [sha512.code, sha512],
]);

/** Options of a gateway blockstore. */
export interface GatewayBlockstoreOptions {
  /** Gateway base URL (`/ipfs/<cid>` is appended). */
  url: string;
  /** Largest block accepted. */
  maxBlockBytes: number;
}

/**
 * Read-only blocks from a trustless IPFS gateway (`GET /ipfs/<cid>?format=raw`), each verified against its CID's
 * multihash before it is returned, so the gateway need not be trusted. Shaped like a Helia blockstore's `get`, which
 * is all ipfs-unixfs-exporter needs to walk a DAG.
 */
export class GatewayBlockstore {
  readonly #base: URL;
  readonly #maxBlockBytes: number;

  constructor(options: GatewayBlockstoreOptions) {
    this.#base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    this.#maxBlockBytes = options.maxBlockBytes;
  }

  /** The verified block of `cid` (as the one chunk of an async iterable, like Helia's blockstores). */
  async *get(cid: CID, options: { signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
    yield await this.getBlock(cid, options.signal);
  }

  /** Fetches and verifies the block of `cid`; throws MetadataFetchError (or the signal's reason when aborted). */
  async getBlock(cid: CID, signal?: AbortSignal): Promise<Uint8Array> {
    // Identity CIDs carry their block inline.
    if (cid.multihash.code === identity.code) return cid.multihash.digest;
    const hasher = HASHERS.get(cid.multihash.code);
    if (!hasher) {
      throw new MetadataFetchError('CID_UNSUPPORTED', `${cid} uses multihash 0x${cid.multihash.code.toString(16)}`);
    }
    const url = new URL(`ipfs/${cid}?format=raw`, this.#base);
    const bytes = await this.#download(url, cid, signal);
    const digest = await hasher.digest(bytes);
    if (!equals(digest.bytes, cid.multihash.bytes)) {
      throw new MetadataFetchError('BLOCK_MISMATCH', `the gateway's bytes for ${cid} do not match its hash`);
    }
    return bytes;
  }

  async #download(url: URL, cid: CID, signal: AbortSignal | undefined): Promise<Uint8Array> {
    const unavailable = (err: unknown): never => {
      signal?.throwIfAborted();
      throw new MetadataFetchError('GATEWAY_UNAVAILABLE', `${url.origin}: ${(err as Error).message}`, { cause: err });
    };
    let res: Response;
    try {
      res = await fetch(url, { headers: { accept: RAW_BLOCK }, signal: signal ?? null });
    } catch (err) {
      return unavailable(err);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      if (res.status === 404 || res.status === 410) {
        throw new MetadataFetchError('BLOCK_NOT_FOUND', `${url.origin} does not have ${cid}`);
      }
      if (res.status >= 500 || res.status === 429) return unavailable(new Error(`HTTP ${res.status}`));
      throw new MetadataFetchError('GATEWAY_REFUSED', `${url.origin} answered HTTP ${res.status} for ${cid}`);
    }
    const declared = Number(res.headers.get('content-length') ?? Number.NaN);
    if (declared > this.#maxBlockBytes) {
      await res.body?.cancel().catch(() => {});
      throw new MetadataFetchError('BLOCK_TOO_LARGE', `${cid} is ${declared} bytes, over ${this.#maxBlockBytes}`);
    }
    const parts: Uint8Array[] = [];
    let size = 0;
    // A reader rather than `for await`: the DOM typings (the dapp type-checks this file too) lack the async iterator.
    const reader = res.body?.getReader();
    try {
      for (;;) {
        const chunk = reader ? await reader.read() : { done: true as const, value: undefined };
        if (chunk.done) break;
        size += chunk.value.byteLength;
        if (size > this.#maxBlockBytes) {
          await reader?.cancel().catch(() => {});
          throw new MetadataFetchError('BLOCK_TOO_LARGE', `${cid} is over ${this.#maxBlockBytes} bytes`);
        }
        parts.push(chunk.value);
      }
    } catch (err) {
      if (err instanceof MetadataFetchError) throw err;
      return unavailable(err);
    }
    return u8aConcatStrict(parts, size);
  }
}
