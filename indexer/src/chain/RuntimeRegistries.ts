import { Metadata, TypeRegistry } from '@polkadot/types';
import type { Registry } from '@polkadot/types/types';

/** Where runtime versions and metadata are read (the ChainReader; a fake in tests). */
export interface RuntimeSource {
  /** Spec version of the runtime in the state of block `hash`. */
  specVersionAt(hash: string): Promise<number>;
  /** SCALE-encoded metadata of the runtime in the state of block `hash`. */
  metadataAt(hash: string): Promise<string>;
}

/** A block as far as its runtime is concerned: a block is built with the runtime in its parent's state. */
export interface BlockLink {
  readonly number: number;
  readonly hash: string;
  readonly parentHash: string;
}

/** A type registry for one runtime version. */
export interface VersionedRegistry {
  readonly specVersion: number;
  readonly registry: Registry;
}

/** Runtime version lookups remembered by state hash (bounded; cleared when full). */
const VERSION_CACHE = 4096;

/**
 * Type registries keyed by runtime spec version, each built once from that runtime's metadata, and the version
 * each block was built with. A block is decoded with the runtime in its parent's state: the block that enacts an
 * upgrade is still built (and its events encoded) by the old runtime.
 *
 * Versions of a run of consecutive blocks take two lookups when no upgrade happened inside it (the versions at
 * both ends agree) and a bisection otherwise. This relies on spec versions only growing along a chain, which
 * `frame_system` enforces for every code upgrade (`set_code` refuses a version that is not higher).
 */
export class RuntimeRegistries {
  readonly #source: RuntimeSource;
  readonly #registries = new Map<number, Promise<Registry>>();
  readonly #versions = new Map<string, Promise<number>>();
  readonly #base: Registry | undefined;

  /** `base`: a registry already built for one version (the connection's own), reused for that version. */
  constructor(source: RuntimeSource, base?: VersionedRegistry) {
    this.#source = source;
    this.#base = base?.registry;
    if (base) this.#registries.set(base.specVersion, Promise.resolve(base.registry));
  }

  /** Spec versions seen so far. */
  get knownVersions(): number[] {
    return [...this.#registries.keys()].sort((a, b) => a - b);
  }

  /** The spec version in the state of `hash`; remembered. */
  versionAt(hash: string): Promise<number> {
    let version = this.#versions.get(hash);
    if (!version) {
      if (this.#versions.size >= VERSION_CACHE) this.#versions.clear();
      version = this.#source.specVersionAt(hash);
      this.#versions.set(hash, version);
      version.catch(() => this.#versions.delete(hash));
    }
    return version;
  }

  /** The registry of `specVersion`, built from the metadata in the state of `hash` the first time. */
  registryFor(specVersion: number, hash: string): Promise<Registry> {
    let registry = this.#registries.get(specVersion);
    if (!registry) {
      registry = this.#source.metadataAt(hash).then((hex) => {
        const built = new TypeRegistry();
        const metadata = new Metadata(built, hex as `0x${string}`);
        if (this.#base) built.setChainProperties(this.#base.getChainProperties());
        built.setMetadata(metadata);
        return built as Registry;
      });
      this.#registries.set(specVersion, registry);
      registry.catch(() => this.#registries.delete(specVersion));
    }
    return registry;
  }

  /** The spec version each of `blocks` (consecutive, in order) was built with, and its registry. */
  async registriesOf(blocks: readonly BlockLink[]): Promise<VersionedRegistry[]> {
    if (blocks.length === 0) return [];
    // The state a block is built on: its parent's; genesis has none and is decoded with its own.
    const states = blocks.map((b) => (b.number === 0 ? b.hash : b.parentHash));
    const versions = new Array<number>(blocks.length);
    const fill = async (lo: number, hi: number, vlo: number, vhi: number): Promise<void> => {
      if (vlo === vhi) {
        versions.fill(vlo, lo, hi + 1);
        return;
      }
      if (hi - lo <= 1) {
        versions[lo] = vlo;
        versions[hi] = vhi;
        return;
      }
      const mid = (lo + hi) >> 1;
      const vmid = await this.versionAt(states[mid]!);
      await Promise.all([fill(lo, mid, vlo, vmid), fill(mid, hi, vmid, vhi)]);
    };
    const last = blocks.length - 1;
    const [first, end] = await Promise.all([this.versionAt(states[0]!), this.versionAt(states[last]!)]);
    await fill(0, last, first, end);
    return Promise.all(
      versions.map(async (specVersion, i) => ({
        specVersion,
        registry: await this.registryFor(specVersion, states[i]!),
      })),
    );
  }
}
