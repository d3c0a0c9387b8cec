// The lean decoder (scale/LeanRuntime.ts) on the dev chain's own runtime (Asset Hub under chopsticks): every block of
// a settlement and tip scenario (announcements, fundings, settlements, a failed settlement, refunds, native and asset
// tips, noise) decodes to the same protocol events and time as polkadot-js, with no fallback; every event record and
// every extrinsic (the parachain's validation-data inherent included) reads with the same names, phase, signer and
// transfer fields as polkadot-js gives.
import {
  type ChainClient,
  connect,
  type DevChain,
  fetchDecodedBlock,
  startDevChain,
} from '@persecond/contracts-client';
import type { GenericExtrinsic } from '@polkadot/types';
import type { EventRecord } from '@polkadot/types/interfaces';
import { hexToU8a } from '@polkadot/util';
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainReader } from '../src/chain/ChainReader.ts';
import { type DecodeStats, decodeRawBlock } from '../src/chain/decodeRaw.ts';
import { RuntimeRegistries } from '../src/chain/RuntimeRegistries.ts';
import { LeanRuntime } from '../src/chain/scale/LeanRuntime.ts';
import { runSettlementScenario } from './support/scenario.ts';
import { runTipScenario } from './support/tipScenario.ts';

const WITH_DATA = new Set(['balances.Transfer', 'assets.Transferred']);

/** A value's text, addresses in SS58 format 42 (the chain's registry may print another format). */
function text(value: unknown): string {
  const s = String(value);
  if (s.length < 46) return s;
  return encodeAddress(decodeAddress(s), 42);
}

describe('lean decoding on the dev chain runtime', () => {
  let chain: DevChain;
  let client: ChainClient;
  let head: number;

  beforeAll(async () => {
    chain = await startDevChain({ mode: 'Manual' });
    client = await connect(chain.wsUrl, { ss58: 42 });
    const live = await runSettlementScenario(client, { viewers: 2, rounds: 1 });
    await runTipScenario(client, live, 3);
    head = (await client.api.rpc.chain.getHeader()).number.toNumber();
  }, 600_000);

  afterAll(async () => {
    await client?.close();
    await chain?.close();
  });

  it('every block: the same protocol events, time, records and extrinsics as polkadot-js, without fallback', async () => {
    const { api } = client;
    const reader = new ChainReader(api);
    // As the follower builds them: the connection's registry serves its own version.
    const base = { specVersion: api.runtimeVersion.specVersion.toNumber(), registry: api.registry };
    const runtimes = new RuntimeRegistries(reader, base);
    const stats: DecodeStats = { lean: 0, fallback: 0 };
    const types = new Map<string, number>();
    let records = 0;
    let signed = 0;
    for (let n = 0; n <= head; n++) {
      const hash = (await reader.hashAt(n))!;
      const raw = (await reader.block(hash))!;
      const { registry } = (await runtimes.registriesOf([raw]))[0]!;
      const decoded = decodeRawBlock(raw, registry, 42, stats);
      const expected = await fetchDecodedBlock(api, hash, 42);
      expect(decoded.events, `block ${n}`).toEqual(expected.events);
      for (const e of decoded.events) types.set(e.type, (types.get(e.type) ?? 0) + 1);
      if (n > 0) {
        const now = await (await api.at(hash)).query.timestamp.now();
        expect(decoded.time.getTime(), `block ${n} time`).toBe(Number(now.toString()));
      }

      const lean = LeanRuntime.of(registry);
      const full = [...registry.createType('Vec<EventRecord>', raw.events)] as EventRecord[];
      const mine = lean.events(hexToU8a(raw.events));
      expect(mine.length).toBe(full.length);
      full.forEach((r, i) => {
        const m = mine[i]!;
        const name = `${r.event.section}.${r.event.method}`;
        expect(`${m.event.section}.${m.event.method}`, `block ${n} record ${i}`).toBe(name);
        expect(m.phase.isApplyExtrinsic).toBe(r.phase.isApplyExtrinsic);
        if (r.phase.isApplyExtrinsic)
          expect(m.phase.asApplyExtrinsic.toNumber()).toBe(r.phase.asApplyExtrinsic.toNumber());
        if (WITH_DATA.has(name)) {
          expect(Array.from(m.event.data, text), `block ${n} ${name}`).toEqual(r.event.data.map(text));
        }
        records++;
      });
      for (const hex of raw.extrinsics) {
        const pj = registry.createType('Extrinsic', hex) as GenericExtrinsic;
        const ex = lean.decodeExtrinsic(hexToU8a(hex));
        expect(ex, `block ${n}: an extrinsic the lean decoder declined`).toBeDefined();
        expect(`${ex!.method.section}.${ex!.method.method}`).toBe(`${pj.method.section}.${pj.method.method}`);
        expect(ex!.isSigned).toBe(pj.isSigned);
        if (pj.isSigned) {
          signed++;
          expect(text(ex!.signer)).toBe(text(pj.signer));
          expect(ex!.hash.toHex()).toBe(pj.hash.toHex());
        }
      }
    }
    expect(stats.fallback).toBe(0);
    expect(stats.lean).toBeGreaterThan(0);
    expect(records).toBeGreaterThan(head);
    expect(signed).toBeGreaterThan(10);
    for (const type of ['announcement', 'funding', 'settlement', 'refund', 'tip']) {
      expect(types.get(type) ?? 0, `${type} events`).toBeGreaterThan(0);
    }
  }, 300_000);
});
