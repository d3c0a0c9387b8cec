// Decoding keyed by the runtime a block was built with, on stored metadata of two runtimes (polkadot-js' static
// Polkadot and Kusama metadata, which number their pallets differently: Timestamp 3 vs 2, Balances 5 vs 4): a chain
// whose runtime changes mid-range, as a runtime upgrade would change it.
import { expandMetadata, Metadata, TypeRegistry } from '@polkadot/types';
import type { EventRecord } from '@polkadot/types/interfaces';
import kusama from '@polkadot/types-support/metadata/static-kusama';
import polkadot from '@polkadot/types-support/metadata/static-polkadot';
import { bnToU8a, compactToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { describe, expect, it } from 'vitest';
import type { RawBlock } from '../src/chain/ChainReader.ts';
import { decodeRawBlock } from '../src/chain/decodeRaw.ts';
import { RuntimeRegistries, type RuntimeSource } from '../src/chain/RuntimeRegistries.ts';

const METADATA: Record<number, string> = { 1000: polkadot, 2000: kusama };

function registryOf(specVersion: number) {
  const registry = new TypeRegistry();
  const metadata = new Metadata(registry, METADATA[specVersion] as `0x${string}`);
  registry.setMetadata(metadata);
  return { registry, decorated: expandMetadata(registry, metadata) };
}

const hashOf = (n: number) => u8aToHex(new Uint8Array(32).fill(n + 1));
/** The runtime in each block's state: block 3 enacts the upgrade, so block 4 is the first built by version 2000. */
const versionInStateOf = (n: number) => (n < 3 ? 1000 : 2000);

/**
 * Block `n` as its runtime encodes it: a `timestamp.set(n × 1000)` inherent and one `balances.Transfer` event of
 * `n` planck, both with the pallet and call indices of the runtime in its parent's state.
 */
function rawBlock(n: number): RawBlock {
  const { registry, decorated } = registryOf(versionInStateOf(n - 1));
  const timestamp = registry.createType('Extrinsic', decorated.tx.timestamp!.set!(n * 1000));
  const balances = registry.metadata.pallets.find((p) => p.name.eq('Balances'))!.index.toNumber();
  const transfer = decorated.events.balances!.Transfer!.meta.index.toNumber();
  const record = u8aConcat(
    [0x00], // Phase::ApplyExtrinsic
    bnToU8a(0, { bitLength: 32 }),
    [balances, transfer],
    new Uint8Array(32).fill(0xaa),
    new Uint8Array(32).fill(0xbb),
    bnToU8a(n, { bitLength: 128 }),
    [0x00], // no topics
  );
  return {
    hash: hashOf(n),
    number: n,
    parentHash: hashOf(n - 1),
    extrinsics: [timestamp.toHex()],
    events: u8aToHex(u8aConcat(compactToU8a(1), record)),
  };
}

/** A chain of blocks 0..6 that counts the lookups it answers. */
function fakeChain() {
  const calls = { versions: [] as string[], metadata: [] as string[] };
  const numberOf = (hash: string) => Array.from({ length: 7 }, (_, n) => n).find((n) => hashOf(n) === hash)!;
  const source: RuntimeSource = {
    specVersionAt: async (hash) => {
      calls.versions.push(hash);
      return versionInStateOf(numberOf(hash));
    },
    metadataAt: async (hash) => {
      calls.metadata.push(hash);
      return METADATA[versionInStateOf(numberOf(hash))]!;
    },
  };
  return { source, calls };
}

describe('decoding keyed by runtime version', () => {
  it('decodes each block of a range across a runtime upgrade with the runtime it was built with', async () => {
    const { source, calls } = fakeChain();
    const runtimes = new RuntimeRegistries(source);
    const blocks = [1, 2, 3, 4, 5, 6].map(rawBlock);
    const registries = await runtimes.registriesOf(blocks);
    // Block 3 enacts the upgrade but is still built (and its events encoded) by the old runtime.
    expect(registries.map((r) => r.specVersion)).toEqual([1000, 1000, 1000, 2000, 2000, 2000]);
    // One registry per version, each from its own metadata, built once.
    expect(calls.metadata.map((h) => versionInStateOf(blocks.find((b) => b.parentHash === h)!.number - 1))).toEqual([
      1000, 2000,
    ]);
    expect(registries[0]!.registry).toBe(registries[2]!.registry);
    expect(registries[3]!.registry).toBe(registries[5]!.registry);
    expect(registries[0]!.registry).not.toBe(registries[3]!.registry);

    blocks.forEach((raw, i) => {
      const { registry } = registries[i]!;
      const decoded = decodeRawBlock(raw, registry, 42);
      expect(decoded).toMatchObject({ number: raw.number, hash: raw.hash, parentHash: raw.parentHash, events: [] });
      expect(decoded.time.getTime()).toBe(raw.number * 1000);
      const [record] = [...registry.createType('Vec<EventRecord>', raw.events)] as EventRecord[];
      expect(`${record!.event.section}.${record!.event.method}`).toBe('balances.Transfer');
      expect(record!.event.data[2]!.toString()).toBe(String(raw.number));
    });
  });

  it('fails with DECODE_FAILED or CHAIN_DATA_INVALID when a block is decoded with another runtime', async () => {
    const { registry: before } = registryOf(1000);
    const { registry: after } = registryOf(2000);
    // The new runtime's timestamp call index means another call to the old one: no timestamp inherent found.
    expect(() => decodeRawBlock(rawBlock(5), before, 42)).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/^(DECODE_FAILED|CHAIN_DATA_INVALID)$/), fatal: true }),
    );
    expect(() => decodeRawBlock(rawBlock(2), after, 42)).toThrow(expect.objectContaining({ fatal: true }));
  });

  it('looks a range’s runtime up twice when no upgrade happened in it, and bisects when one did', async () => {
    const steady = fakeChain();
    await new RuntimeRegistries(steady.source).registriesOf([4, 5, 6].map(rawBlock));
    expect(steady.calls.versions).toHaveLength(2);

    const upgraded = fakeChain();
    await new RuntimeRegistries(upgraded.source).registriesOf([1, 2, 3, 4, 5, 6].map(rawBlock));
    // Both ends, then a bisection down to the upgrade: far fewer lookups than blocks on a long range.
    expect(upgraded.calls.versions.length).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(6)));
    // Lookups are remembered by state hash.
    expect(new Set(upgraded.calls.versions).size).toBe(upgraded.calls.versions.length);
  });

  it('reuses the connection’s own registry for its version', async () => {
    const { source, calls } = fakeChain();
    const base = registryOf(1000).registry;
    const runtimes = new RuntimeRegistries(source, { specVersion: 1000, registry: base });
    const [first] = await runtimes.registriesOf([rawBlock(1)]);
    expect(first!.registry).toBe(base);
    expect(calls.metadata).toEqual([]);
  });
});
