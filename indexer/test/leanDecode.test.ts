// The lean decoder (scale/LeanRuntime.ts) against polkadot-js codecs, on stored metadata of three runtimes (Polkadot,
// Kusama, Substrate's kitchensink with an assets pallet): blocks of protocol batches, plain transfers, failed
// batches and other events decode to the same protocol events with no fallback, and broken bytes still fail.
import { DEV_ACCOUNTS, decodeBlockParts } from '@persecond/contracts-client';
import { expandMetadata, Metadata, TypeRegistry } from '@polkadot/types';
import type { EventRecord } from '@polkadot/types/interfaces';
import type { Registry } from '@polkadot/types/types';
import kusama from '@polkadot/types-support/metadata/static-kusama';
import polkadot from '@polkadot/types-support/metadata/static-polkadot';
import substrate from '@polkadot/types-support/metadata/static-substrate';
import { bnToU8a, compactFromU8a, compactToU8a, hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';
import { describe, expect, it } from 'vitest';
import type { RawBlock } from '../src/chain/ChainReader.ts';
import { type DecodeStats, decodeRawBlock } from '../src/chain/decodeRaw.ts';
import { LeanRuntime } from '../src/chain/scale/LeanRuntime.ts';
import { IndexerError } from '../src/errors.ts';

const { Alice: alice, Bob: bob, Charlie: charlie } = DEV_ACCOUNTS;
const RUNTIMES = { polkadot, kusama, substrate } as Record<string, string>;

function runtime(name: string) {
  const registry = new TypeRegistry();
  const metadata = new Metadata(registry, RUNTIMES[name] as `0x${string}`);
  registry.setMetadata(metadata);
  return { registry, decorated: expandMetadata(registry, metadata) };
}

type Decorated = ReturnType<typeof runtime>['decorated'];

/** An event's bytes: its pallet and event index, then its fields as the runtime's codecs encode them. */
function eventBytes(registry: Registry, decorated: Decorated, section: string, method: string, data: unknown[]) {
  const meta = decorated.events[section]![method]!.meta;
  const pallet = registry.metadata.pallets.find((p) => p.name.toString().toLowerCase() === section.toLowerCase())!;
  const index = new Uint8Array([pallet.index.toNumber(), meta.index.toNumber()]);
  const Data = registry.findMetaEvent(index) as unknown as new (r: Registry, v: unknown) => { toU8a(): Uint8Array };
  return u8aConcat(index, new Data(registry, data).toU8a());
}

/** A record: phase ApplyExtrinsic(i) (or Finalization when i is undefined), the event, one topic or none. */
function record(phase: number | undefined, event: Uint8Array, topic = false) {
  const p = phase === undefined ? new Uint8Array([1]) : u8aConcat([0], bnToU8a(phase, { bitLength: 32 }));
  const topics = topic ? u8aConcat(compactToU8a(1), new Uint8Array(32).fill(7)) : compactToU8a(0);
  return u8aConcat(p, event, topics);
}

/**
 * A block of the runtime: the timestamp inherent; a `ps1:pay` batch (transfer + remark); a tip; a creator's bare
 * announcement; a plain transfer; a failed pay batch; on kitchensink an asset payment. Events as the runtime emits
 * them for each, with unrelated ones between.
 */
function block(name: string, n: number): RawBlock {
  const { registry, decorated } = runtime(name);
  const tx = decorated.tx;
  const signed = (call: unknown, who: string, nonce: number) =>
    registry.createType('Extrinsic', call).signFake(who, {
      nonce,
      blockHash: u8aToHex(new Uint8Array(32).fill(1)),
      genesisHash: u8aToHex(new Uint8Array(32).fill(2)),
      runtimeVersion: { specVersion: 1, transactionVersion: 1 } as never,
    });
  const remark = (text: string) => tx.system!.remarkWithEvent!(text);
  const extrinsics = [
    registry.createType('Extrinsic', tx.timestamp!.set!(1_765_000_000_000 + n * 6000)),
    signed(
      tx.utility!.batchAll!([tx.balances!.transferKeepAlive!(bob, 1_000_000_007n), remark('ps1:pay:st-1:se-1:3')]),
      charlie,
      5,
    ),
    signed(tx.utility!.batchAll!([tx.balances!.transferKeepAlive!(bob, 42n), remark('ps1:tip:st-1:msg-9')]), alice, 1),
    signed(remark('ps1:stream:st-1:bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'), bob, 2),
    signed(tx.balances!.transferKeepAlive!(alice, 5n), bob, 3),
    signed(tx.utility!.batchAll!([tx.balances!.transferKeepAlive!(bob, 9n), remark('ps1:pay:st-1:se-2:1')]), alice, 2),
  ];
  const ev = (section: string, method: string, data: unknown[]) =>
    eventBytes(registry, decorated, section, method, data);
  const ok = ev('system', 'ExtrinsicSuccess', [{}]);
  const remarked = (who: string) => ev('system', 'Remarked', [who, blake2AsHex('x')]);
  const records = [
    record(0, ok),
    record(1, ev('balances', 'Withdraw', [charlie, 3n]), true),
    record(1, ev('balances', 'Transfer', [charlie, bob, 1_000_000_007n])),
    record(1, ev('utility', 'ItemCompleted', [])),
    record(1, remarked(charlie)),
    record(1, ev('utility', 'ItemCompleted', [])),
    record(1, ev('utility', 'BatchCompleted', [])),
    record(1, ok),
    record(2, ev('balances', 'Transfer', [alice, bob, 42n])),
    record(2, remarked(alice)),
    record(2, ok),
    record(3, remarked(bob)),
    record(3, ok),
    record(4, ev('balances', 'Transfer', [bob, alice, 5n])),
    record(4, ok),
    // The failed batch: its transfer and remark rolled back, an ExtrinsicFailed instead of success.
    record(5, ev('system', 'ExtrinsicFailed', [{ Other: null }, {}])),
    record(undefined, ev('balances', 'Deposit', [alice, 1n])),
  ];
  if (decorated.tx.assets) {
    extrinsics.push(
      signed(
        tx.utility!.batchAll!([tx.assets!.transferKeepAlive!(1984, bob, 77n), remark('ps1:pay:st-1:se-3:1')]),
        charlie,
        6,
      ),
    );
    records.splice(
      records.length - 1,
      0,
      record(6, ev('assets', 'Transferred', [1984, charlie, bob, 77n])),
      record(6, remarked(charlie)),
      record(6, ok),
    );
  }
  return {
    hash: u8aToHex(new Uint8Array(32).fill(n + 10)),
    number: n,
    parentHash: u8aToHex(new Uint8Array(32).fill(n + 9)),
    extrinsics: extrinsics.map((e) => e.toHex()),
    events: u8aToHex(u8aConcat(compactToU8a(records.length), ...records)),
  };
}

/** The block decoded by polkadot-js codecs alone (every extrinsic and record), as decodeBlockData does. */
function reference(raw: RawBlock, registry: Registry) {
  const records = [...registry.createType('Vec<EventRecord>', raw.events)] as EventRecord[];
  const extrinsics = raw.extrinsics.map((hex, i) => [i, registry.createType('Extrinsic', hex) as never] as const);
  return decodeBlockParts({ hash: raw.hash, number: raw.number, parentHash: raw.parentHash }, extrinsics, records, 42);
}

describe('lean decoding equals polkadot-js decoding', () => {
  it.each(Object.keys(RUNTIMES))('%s: same protocol events, time and event names, without fallback', (name) => {
    const { registry } = runtime(name);
    const raw = block(name, 7);
    const stats: DecodeStats = { lean: 0, fallback: 0 };
    const decoded = decodeRawBlock(raw, registry, 42, stats);
    const expected = reference(raw, registry);
    expect(decoded.events).toEqual(expected.events);
    const types = decoded.events.map((e) => e.type);
    expect(types).toEqual(
      name === 'substrate'
        ? ['settlement', 'tip', 'announcement', 'settlement']
        : ['settlement', 'tip', 'announcement'],
    );
    expect(decoded.time.getTime()).toBe(1_765_000_000_000 + 7 * 6000);
    expect(stats.fallback).toBe(0);
    expect(stats.lean).toBeGreaterThan(0);
    // Every record: the same phase and names as polkadot-js gives.
    const lean = LeanRuntime.of(registry).events(hexToU8a(raw.events));
    const full = [...registry.createType('Vec<EventRecord>', raw.events)] as EventRecord[];
    const shape = (r: { phase: { isApplyExtrinsic: boolean }; event: { section: string; method: string } }) =>
      `${r.phase.isApplyExtrinsic}:${r.event.section}.${r.event.method}`;
    expect(lean.map(shape)).toEqual(full.map(shape));
  });

  it('a block whose events do not decode fails DECODE_FAILED (after the polkadot-js fallback fails too)', () => {
    const { registry } = runtime('polkadot');
    const raw = block('polkadot', 3);
    // The first record's event names pallet 250, which this runtime does not have (byte 6: the count, the phase).
    const bytes = hexToU8a(raw.events);
    bytes[6] = 250;
    let thrown: unknown;
    try {
      decodeRawBlock({ ...raw, events: u8aToHex(bytes) }, registry, 42);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(IndexerError);
    expect((thrown as IndexerError).code).toBe('DECODE_FAILED');
  });

  it('declines an extrinsic version it does not read (polkadot-js decodes those)', () => {
    const { registry } = runtime('kusama');
    const raw = block('kusama', 4);
    const bytes = hexToU8a(raw.extrinsics[4]);
    const [prefix] = compactFromU8a(bytes);
    const lean = LeanRuntime.of(registry);
    expect(lean.decodeExtrinsic(bytes)?.isSigned).toBe(true);
    const v5 = Uint8Array.from(bytes);
    v5[prefix] = 0x85;
    expect(lean.decodeExtrinsic(v5)).toBeUndefined();
  });
});
