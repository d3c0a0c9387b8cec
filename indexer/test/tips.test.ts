import {
  type ChainClient,
  connect,
  DEV_ACCOUNTS,
  DEV_ASSET,
  type DevChain,
  startDevChain,
} from '@persecond/contracts-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Indexer } from '../src/Indexer.ts';
import {
  type Amounts,
  type FollowingIndexers,
  startFollowingIndexers,
  waitForIndexedHead,
} from './support/followingIndexers.ts';
import { getJson } from './support/http.ts';
import { type ReplayScenario, runReplayScenario } from './support/replayScenario.ts';
import { runSettlementScenario, type Scenario } from './support/scenario.ts';
import { type ChainTransfer, runTipScenario, type TipScenario, transfersFrom } from './support/tipScenario.ts';

const FINALITY_DEPTH = 3;
const TIP_BLOCKS = 5;
const REPLAY_BLOCKS = 4;
const HOUR = 3_600_000;
const pgUrl = process.env.DATABASE_URL;

interface EarningsBody {
  totals: Amounts[];
  streams: Array<Amounts & { streamId: string }>;
  buckets: Array<{ start: string; totals: Amounts[] }>;
}

describe('live, replay and tip earnings equal the on-chain transfers, to the planck, each kind on its own', () => {
  let chain: DevChain;
  let client: ChainClient;
  let indexers: FollowingIndexers;
  let live: Scenario;
  let tipped: TipScenario;
  let replayed: ReplayScenario;
  let head: number;

  beforeAll(async () => {
    chain = await startDevChain({ mode: 'Manual' });
    client = await connect(chain.wsUrl, { ss58: 42 });
    // The indexers follow the chain while the scenario runs.
    indexers = await startFollowingIndexers(chain.wsUrl, FINALITY_DEPTH);
    live = await runSettlementScenario(client, { viewers: 2, rounds: 1 });
    replayed = await runReplayScenario(client, live, REPLAY_BLOCKS);
    tipped = await runTipScenario(client, live, TIP_BLOCKS);
    // The replays' final settlements last: within the pending window, their earlier payments final.
    await replayed.finish();
    head = (await client.api.rpc.chain.getHeader()).number.toNumber();
  }, 600_000);

  afterAll(async () => {
    await indexers?.close();
    await client?.close();
    await chain?.close();
  });

  /**
   * What the chain says one creator earned: live (live session accounts' transfers), replay (replay session accounts'
   * transfers) and tips (tippers' transfers).
   */
  function expectedOf(transfers: ChainTransfer[], creator: string, filter: (t: ChainTransfer) => boolean = () => true) {
    const finalHeight = head - FINALITY_DEPTH;
    const sum = (list: ChainTransfer[]) => list.reduce((a, t) => a + t.amount, 0n);
    const split = (list: ChainTransfer[]) => ({
      pending: sum(list.filter((t) => t.block > finalHeight)).toString(),
      final: sum(list.filter((t) => t.block <= finalHeight)).toString(),
    });
    const mine = transfers.filter((t) => t.to === creator && filter(t));
    const assets = [...new Set(mine.map((t) => t.asset))].sort((a, b) =>
      a === 'native' ? -1 : b === 'native' ? 1 : Number(a) - Number(b),
    );
    return assets.map((asset): Amounts => {
      const ofAsset = mine.filter((t) => t.asset === asset);
      const liveSplit = split(ofAsset.filter((t) => live.sessionAccounts.has(t.from)));
      const replaySplit = split(ofAsset.filter((t) => replayed.sessionAccounts.get(t.from) === creator));
      const tipSplit = split(ofAsset.filter((t) => tipped.tippers.get(t.from) === creator));
      const kinds = [liveSplit, replaySplit, tipSplit];
      return {
        asset,
        pending: kinds.reduce((a, k) => a + BigInt(k.pending), 0n).toString(),
        final: kinds.reduce((a, k) => a + BigInt(k.final), 0n).toString(),
        kinds: { live: liveSplit, replay: replaySplit, tip: tipSplit },
      };
    });
  }

  async function checkTotals(indexer: Indexer): Promise<void> {
    await waitForIndexedHead(indexer, head);
    // Where it stands: at the head, FINALITY_DEPTH blocks short of the chain's finality; the metrics say the same.
    const { body: status } = await getJson<{ lag: number; finalizedLag: number; blocksPerSecond: number }>(
      `${indexer.url}/v1/status`,
    );
    expect(status).toMatchObject({ lag: 0, finalizedLag: FINALITY_DEPTH });
    expect(status.blocksPerSecond).toBeGreaterThanOrEqual(0);
    const metrics = await (await fetch(`${indexer.url}/metrics`)).text();
    expect(metrics).toMatch(/^indexer_lag_blocks 0$/m);
    expect(metrics).toMatch(new RegExp(`^indexer_finalized_lag_blocks ${FINALITY_DEPTH}$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^indexer_chain_finalized_height ${head}$`, 'm'));
    expect(metrics).toMatch(/^indexer_blocks_per_second \d+(\.\d+)?$/m);
    // Every transfer of the session accounts and the tippers (the tippers' noise-free by construction: they only tip).
    const senders = new Set([...live.sessionAccounts, ...replayed.sessionAccounts.keys(), ...tipped.tippers.keys()]);
    const transfers = await transfersFrom(client, senders, head);
    const times = transfers.map((t) => t.time);
    const from = Math.min(...times) - HOUR;
    const to = Math.max(...times) + HOUR;
    let tipsSeen = 0;
    for (const { pair, streamId } of live.creators) {
      const expected = expectedOf(transfers, pair.address);
      const creator = await getJson<EarningsBody>(
        `${indexer.url}/v1/creators/${pair.address}/earnings?from=${from}&to=${to}&bucket=hour`,
      );
      expect(creator.status).toBe(200);
      expect(creator.body.totals).toEqual(expected);
      const stream = await getJson<EarningsBody>(
        `${indexer.url}/v1/streams/${streamId}/earnings?from=${from}&to=${to}&bucket=day`,
      );
      expect(stream.body.totals).toEqual(expected);
      expect(stream.body.streams).toEqual(expected.map((e) => ({ streamId, title: null, ...e })));
      // Hourly buckets: each equals the chain's transfers in that hour.
      for (const bucket of creator.body.buckets) {
        const start = Date.parse(bucket.start);
        const inHour = (t: ChainTransfer) => t.time >= start && t.time < start + HOUR;
        expect(bucket.totals).toEqual(expectedOf(transfers, pair.address, inHour));
      }
      const hours = new Set(transfers.filter((t) => t.to === pair.address).map((t) => t.time - (t.time % HOUR)));
      expect(creator.body.buckets.map((b) => Date.parse(b.start)).sort()).toEqual([...hours].sort());
      tipsSeen += expected.reduce((n, e) => n + (e.kinds.tip.pending !== '0' || e.kinds.tip.final !== '0' ? 1 : 0), 0);
    }
    // Tips reached two creators (Bob's in two assets), pending and final both present for the native ones.
    expect(tipsSeen).toBe(3);
    // Replays paid Alice in the native token and Bob in the dev asset, pending (the final settlements) and final.
    const replayOf = (who: number, asset: string) =>
      expectedOf(transfers, live.creators[who]!.pair.address).find((e) => e.asset === asset)!.kinds.replay;
    for (const split of [replayOf(0, 'native'), replayOf(1, String(DEV_ASSET.id))]) {
      expect(BigInt(split.pending)).toBeGreaterThan(0n);
      expect(BigInt(split.final)).toBeGreaterThan(0n);
    }
    expect(replayOf(1, 'native')).toEqual({ pending: '0', final: '0' });
    const alice = expectedOf(transfers, live.creators[0]!.pair.address);
    expect(BigInt(alice[0]!.kinds.tip.pending)).toBeGreaterThan(0n);
    expect(BigInt(alice[0]!.kinds.tip.final)).toBeGreaterThan(0n);
    expect(transfers.filter((t) => tipped.tippers.has(t.from))).toHaveLength(tipped.tips);
    // The noise paid Ferdie and Alice, but no earning: Ferdie has none at all.
    const ferdie = await getJson<EarningsBody>(
      `${indexer.url}/v1/creators/${DEV_ACCOUNTS.Ferdie}/earnings?from=${from}&to=${to}`,
    );
    expect(ferdie.body.totals).toEqual([]);
    const ghost = await getJson<EarningsBody>(`${indexer.url}/v1/streams/ghost/earnings?from=${from}&to=${to}`);
    expect(ghost.body.totals).toEqual([]);
  }

  it('on PGlite', () => checkTotals(indexers.pglite), 180_000);

  it.skipIf(!pgUrl)('on PostgreSQL (DATABASE_URL)', () => checkTotals(indexers.postgres!), 180_000);
});
