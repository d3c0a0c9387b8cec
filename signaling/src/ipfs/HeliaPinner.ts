import './withResolvers.ts';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { unixfs } from '@helia/unixfs';
import * as dagJson from '@ipld/dag-json';
import { FsBlockstore } from 'blockstore-fs';
import { FsDatastore } from 'datastore-fs';
import { createHeliaLight, type Helia } from 'helia';
import { createUnsafe } from 'multiformats/block';
import type { CID } from 'multiformats/cid';
import { encodeCanonicalJson } from './canonicalJson.ts';
import { toCid } from './cidInput.ts';
import { IpfsError } from './errors.ts';
import { OperationGate } from './OperationGate.ts';
import {
  type CatOptions,
  DEFAULT_BLOCK_MAX_BYTES,
  DEFAULT_CAT_MAX_BYTES,
  type OperationOptions,
  type Pinner,
} from './Pinner.ts';
import { readAll } from './readAll.ts';
import { kuboImportOptions } from './unixfsLayout.ts';

/** Options of the embedded Helia backend. */
export interface HeliaPinnerOptions {
  /** Repository directory (blocks/ and datastore/ are created inside). */
  dir: string;
}

/**
 * Opens the embedded backend: Helia light (no libp2p, no routers, no block brokers, so it never touches the
 * network) over filesystem stores, so data and pins survive restarts.
 */
export async function createHeliaPinner(options: HeliaPinnerOptions): Promise<Pinner> {
  await mkdir(options.dir, { recursive: true });
  const blockstore = new FsBlockstore(join(options.dir, 'blocks'));
  const datastore = new FsDatastore(join(options.dir, 'datastore'));
  await blockstore.open();
  try {
    await datastore.open();
  } catch (err) {
    await blockstore.close();
    throw err;
  }
  const helia = createHeliaLight({ blockstore, datastore, codecs: [dagJson] });
  try {
    await helia.start();
  } catch (err) {
    await Promise.allSettled([helia.stop(), blockstore.close(), datastore.close()]);
    throw err;
  }
  return new HeliaPinner(helia, async () => {
    await helia.stop();
    await Promise.all([blockstore.close(), datastore.close()]);
  });
}

/**
 * Helia operations are local and finite, so they run to completion and the signal is only checked between steps:
 * aborting Helia mid-import or mid-pin leaks unhandled rejections from its internal job queues.
 */
class HeliaPinner implements Pinner {
  readonly backend = 'helia';
  readonly #gate = new OperationGate('helia pinner');
  readonly #fs;

  constructor(
    private readonly helia: Helia,
    private readonly release: () => Promise<void>,
  ) {
    this.#fs = unixfs(helia);
  }

  add(bytes: Uint8Array, options: OperationOptions = {}): Promise<CID> {
    return this.#gate.run(
      'add',
      async (signal) => {
        const cid = await this.#fs.addBytes(bytes, kuboImportOptions());
        signal.throwIfAborted();
        // The importer just wrote every block, so the DAG is known to be complete.
        await this.#pinLocal(cid, signal, false);
        return cid;
      },
      options,
    );
  }

  addJson(value: unknown, options: OperationOptions = {}): Promise<CID> {
    try {
      return this.add(encodeCanonicalJson(value), options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  cat(input: CID | string, options: CatOptions = {}): Promise<Uint8Array> {
    const maxBytes = options.maxBytes ?? DEFAULT_CAT_MAX_BYTES;
    return this.#gate.run(
      'cat',
      async (signal) => {
        const cid = toCid(input);
        try {
          return await readAll(
            this.#fs.cat(cid, { offline: true, length: maxBytes + 1 }),
            maxBytes,
            `file ${cid}`,
            signal,
          );
        } catch (err) {
          throw mapHeliaError(err, cid);
        }
      },
      options,
    );
  }

  getBlock(input: CID | string, options: CatOptions = {}): Promise<Uint8Array> {
    const maxBytes = options.maxBytes ?? DEFAULT_BLOCK_MAX_BYTES;
    return this.#gate.run(
      'getBlock',
      async (signal) => {
        const cid = toCid(input);
        try {
          return await readAll(this.helia.blockstore.get(cid, { offline: true }), maxBytes, `block ${cid}`, signal);
        } catch (err) {
          throw mapHeliaError(err, cid);
        }
      },
      options,
    );
  }

  pin(input: CID | string, options: OperationOptions = {}): Promise<void> {
    return this.#gate.run('pin', (signal) => this.#pinLocal(toCid(input), signal, true), options);
  }

  isPinned(input: CID | string, options: OperationOptions = {}): Promise<boolean> {
    return this.#gate.run('isPinned', () => this.helia.pins.isPinned(toCid(input)), options);
  }

  close(): Promise<void> {
    return this.#gate.close(this.release);
  }

  async #pinLocal(cid: CID, signal: AbortSignal, checkComplete: boolean): Promise<void> {
    if (await this.helia.pins.isPinned(cid)) return;
    // Helia's pin walker leaks an unhandled rejection when a block is missing, so prove the DAG is complete first.
    if (checkComplete) await this.#assertLocalDag(cid, signal);
    signal.throwIfAborted();
    try {
      for await (const _ of this.helia.pins.add(cid)) {
        // Drain: each yielded CID is a block that is now pinned.
      }
    } catch (err) {
      // Concurrent pins of the same CID: Kubo treats pinning as idempotent, so do we.
      if ((err as Error).name !== 'AlreadyPinnedError') throw mapHeliaError(err, cid);
    }
  }

  async #assertLocalDag(root: CID, signal: AbortSignal): Promise<void> {
    const stack = [root];
    const seen = new Set<string>();
    while (stack.length > 0) {
      const cid = stack.pop()!;
      const key = cid.toString();
      if (seen.has(key)) continue;
      seen.add(key);
      try {
        signal.throwIfAborted();
        const bytes = await readAll(this.helia.blockstore.get(cid, { offline: true }), Number.MAX_SAFE_INTEGER, key);
        const codec = await this.helia.getCodec(cid.code);
        for (const [, link] of createUnsafe({ cid, bytes, codec }).links()) stack.push(link);
      } catch (err) {
        throw mapHeliaError(err, root);
      }
    }
  }
}

function mapHeliaError(err: unknown, cid: CID): unknown {
  if (err instanceof IpfsError) return err;
  switch ((err as Error | undefined)?.name) {
    case 'BlockNotFoundWhileOfflineError':
      return new IpfsError('IPFS_NOT_FOUND', `${cid} is not in the local repository`, { cause: err });
    case 'NotUnixFSError':
    case 'NotAFileError':
    case 'InvalidPBNodeError':
      return new IpfsError('IPFS_NOT_A_FILE', `${cid} is not a UnixFS file`, { cause: err });
    case 'UnknownCodecError':
      return new IpfsError('IPFS_INVALID_CID', `${cid} uses an unsupported codec`, { cause: err });
    default:
      return err;
  }
}
