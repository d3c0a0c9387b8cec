import { create as createKuboClient, type KuboRPCClient } from 'kubo-rpc-client';
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
import { KUBO_ADD_PARAMS } from './unixfsLayout.ts';

/** Options of the Kubo RPC backend. */
export interface KuboPinnerOptions {
  /** Kubo RPC API address, e.g. http://127.0.0.1:5001 (the /api/v0 path is added when missing). */
  url: string;
  /** Per-operation time limit: Kubo searches the network for missing blocks without end. */
  timeoutMs: number;
}

/** Connects the Kubo RPC backend (no request is made until the first operation). */
export async function createKuboPinner(options: KuboPinnerOptions): Promise<Pinner> {
  return new KuboPinner(createKuboClient({ url: options.url }), options.timeoutMs);
}

class KuboPinner implements Pinner {
  readonly backend = 'kubo';
  readonly #gate = new OperationGate('kubo pinner');

  constructor(
    private readonly client: KuboRPCClient,
    private readonly timeoutMs: number,
  ) {}

  add(bytes: Uint8Array, options: OperationOptions = {}): Promise<CID> {
    return this.#run(
      'add',
      async (signal) => (await this.client.add(bytes, { ...KUBO_ADD_PARAMS, pin: true, signal })).cid,
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
    return this.#run(
      'cat',
      async (signal) => {
        const cid = toCid(input);
        return readAll(this.client.cat(cid, { length: maxBytes + 1, signal }), maxBytes, `file ${cid}`);
      },
      options,
    );
  }

  getBlock(input: CID | string, options: CatOptions = {}): Promise<Uint8Array> {
    const maxBytes = options.maxBytes ?? DEFAULT_BLOCK_MAX_BYTES;
    return this.#run(
      'getBlock',
      async (signal) => {
        const cid = toCid(input);
        // Kubo's global `offline` option (every option becomes a query parameter): answer from the local
        // repository instead of searching the network.
        const offline = { offline: true };
        const local = { signal, ...offline };
        // block/get buffers the whole block, so the size is checked first.
        const { size } = await this.client.block.stat(cid, local);
        if (size > maxBytes) throw new IpfsError('IPFS_TOO_LARGE', `block ${cid} is larger than ${maxBytes} bytes`);
        return this.client.block.get(cid, local);
      },
      options,
    );
  }

  pin(input: CID | string, options: OperationOptions = {}): Promise<void> {
    return this.#run(
      'pin',
      async (signal) => {
        await this.client.pin.add(toCid(input), { recursive: true, signal });
      },
      options,
    );
  }

  isPinned(input: CID | string, options: OperationOptions = {}): Promise<boolean> {
    return this.#run(
      'isPinned',
      async (signal) => {
        const cid = toCid(input);
        try {
          for await (const _ of this.client.pin.ls({ paths: [cid], signal })) return true;
          return false;
        } catch (err) {
          // Kubo answers `pin ls <cid>` for an unpinned CID with an error, not an empty list.
          if (/is not pinned/.test((err as Error).message)) return false;
          throw err;
        }
      },
      options,
    );
  }

  close(): Promise<void> {
    return this.#gate.close(async () => {});
  }

  #run<T>(operation: string, work: (signal: AbortSignal) => Promise<T>, options: OperationOptions): Promise<T> {
    return this.#gate.run(
      operation,
      async (signal) => {
        try {
          return await work(signal);
        } catch (err) {
          throw mapKuboError(err, operation, signal);
        }
      },
      { signal: options.signal, timeoutMs: this.timeoutMs },
    );
  }
}

function mapKuboError(err: unknown, operation: string, signal: AbortSignal): unknown {
  if (err instanceof IpfsError || signal.aborted) return err;
  const error = err as Error;
  const message = String(error?.message ?? err);
  if (error?.name === 'TimeoutError')
    return new IpfsError('IPFS_TIMEOUT', `kubo ${operation}: ${message}`, { cause: err });
  if (error?.name !== 'HTTPError') {
    return new IpfsError('IPFS_UNAVAILABLE', `kubo ${operation}: ${message}`, { cause: err });
  }
  if (/not found|could not find/i.test(message)) {
    return new IpfsError('IPFS_NOT_FOUND', `kubo ${operation}: ${message}`, { cause: err });
  }
  if (/is a directory|not a file|unsupported node type|not unixfs/i.test(message)) {
    return new IpfsError('IPFS_NOT_A_FILE', `kubo ${operation}: ${message}`, { cause: err });
  }
  return new IpfsError('IPFS_UNAVAILABLE', `kubo ${operation}: ${message}`, { cause: err });
}
