import type { ApiPromise } from '@polkadot/api';
import type { ProviderInterface } from '@polkadot/rpc-provider/types';
import { IndexerError } from '../errors.ts';

/** `twox128("System") ++ twox128("Events")`: the same key in every runtime version. */
export const SYSTEM_EVENTS_KEY = '0x26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7';

/** A block as the node sends it (JSON, extrinsics still SCALE hex) with its `System.Events` storage, undecoded. */
export interface RawBlock {
  readonly hash: string;
  readonly number: number;
  readonly parentHash: string;
  /** SCALE-encoded extrinsics, in block order. */
  readonly extrinsics: readonly string[];
  /** SCALE-encoded `Vec<EventRecord>` (`0x00` when the storage is empty). */
  readonly events: string;
}

interface BlockJson {
  block: { header: { parentHash: string; number: string }; extrinsics: string[] };
}

/**
 * Raw JSON-RPC reads the follower needs, sent straight to the provider: by-hash calls through `api.rpc` are memoized
 * and decoded with the connection's registry, while the follower decodes each block with its own runtime's. Per
 * block two requests (`chain_getBlock`, `state_getStorage` of `System.Events`), plus one `chain_getBlockHash` per
 * range of numbers and one runtime version lookup per range. A failed request is a retryable RPC_FAILED.
 */
export class ChainReader {
  readonly #provider: ProviderInterface;

  constructor(api: ApiPromise) {
    this.#provider = (api as unknown as { _rpcCore: { provider: ProviderInterface } })._rpcCore.provider;
  }

  async #send<T>(method: string, params: unknown[]): Promise<T> {
    try {
      return (await this.#provider.send(method, params)) as T;
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      throw new IndexerError('RPC_FAILED', `${method} failed: ${detail}`, { cause: err });
    }
  }

  /** Canonical hashes of `numbers` (one request); undefined past the head. */
  async hashes(numbers: readonly number[]): Promise<Array<string | undefined>> {
    if (numbers.length === 0) return [];
    const hashes = await this.#send<Array<string | null> | string | null>('chain_getBlockHash', [numbers]);
    // A node that only takes one number answers one hash: ask one by one then.
    if (!Array.isArray(hashes)) {
      return Promise.all(
        numbers.map(async (n) => (await this.#send<string | null>('chain_getBlockHash', [n])) ?? undefined),
      );
    }
    return hashes.map((h) => h ?? undefined);
  }

  /** Canonical hash at `number`, or undefined past the head. */
  async hashAt(number: number): Promise<string | undefined> {
    return (await this.#send<string | null>('chain_getBlockHash', [number])) ?? undefined;
  }

  /** Block `hash` and its event records, raw; undefined when the node does not know the block (any more). */
  async block(hash: string): Promise<RawBlock | undefined> {
    const [json, events] = await Promise.all([
      this.#send<BlockJson | null>('chain_getBlock', [hash]),
      this.#send<string | null>('state_getStorage', [SYSTEM_EVENTS_KEY, hash]),
    ]);
    if (!json) return undefined;
    const { header, extrinsics } = json.block;
    return {
      hash,
      number: Number(header.number),
      parentHash: header.parentHash,
      extrinsics,
      events: events ?? '0x00',
    };
  }

  /** The runtime's spec version in the state of block `hash` (the runtime its children are built with). */
  async specVersionAt(hash: string): Promise<number> {
    const version = await this.#send<{ specVersion: number }>('state_getRuntimeVersion', [hash]);
    return version.specVersion;
  }

  /** SCALE-encoded metadata of the runtime in the state of block `hash`. */
  async metadataAt(hash: string): Promise<string> {
    return this.#send<string>('state_getMetadata', [hash]);
  }
}
