import { type ChainClient, connect, type DevChain, startDevChain } from '@persecond/contracts-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Indexer } from '../src/Indexer.ts';
import {
  type Amounts,
  type FollowingIndexers,
  startFollowingIndexers,
  waitForIndexedHead,
} from './support/followingIndexers.ts';
import { getJson } from './support/http.ts';
import { runSettlementScenario, type Scenario, transfersToCreators } from './support/scenario.ts';

const FINALITY_DEPTH = 3;
const pgUrl = process.env.DATABASE_URL;

describe('earnings equal the on-chain transfers, to the planck (5 viewers × 3 streams)', () => {
  let chain: DevChain;
  let client: ChainClient;
  let indexers: FollowingIndexers;
  let scenario: Scenario;
  let head: number;

  beforeAll(async () => {
    chain = await startDevChain({ mode: 'Manual' });
    client = await connect(chain.wsUrl, { ss58: 42 });
    // The indexers follow the chain while the scenario runs.
    indexers = await startFollowingIndexers(chain.wsUrl, FINALITY_DEPTH);
    scenario = await runSettlementScenario(client, { viewers: 5, rounds: 2 });
    head = (await client.api.rpc.chain.getHeader()).number.toNumber();
  }, 600_000);

  afterAll(async () => {
    await indexers?.close();
    await client?.close();
    await chain?.close();
  });

  async function checkTotals(indexer: Indexer): Promise<void> {
    await waitForIndexedHead(indexer, head);
    const transfers = await transfersToCreators(client, scenario, head);
    const finalHeight = head - FINALITY_DEPTH;
    const times = transfers.map((t) => t.time);
    const from = Math.min(...times) - 3_600_000;
    const to = Math.max(...times) + 3_600_000;
    let settlementRows = 0;
    for (const { pair, streamId } of scenario.creators) {
      const mine = transfers.filter((t) => t.creator === pair.address);
      const sum = (list: typeof mine) => list.reduce((a, t) => a + t.amount, 0n).toString();
      const live = {
        pending: sum(mine.filter((t) => t.block > finalHeight)),
        final: sum(mine.filter((t) => t.block <= finalHeight)),
      };
      // No tips nor replays in this scenario (indexer/test/tips.test.ts has them): everything is live.
      const none = { pending: '0', final: '0' };
      const expected: Amounts = { asset: 'native', ...live, kinds: { live, replay: none, tip: none } };
      expect(BigInt(expected.pending)).toBeGreaterThan(0n);
      expect(BigInt(expected.final)).toBeGreaterThan(0n);

      const creator = await getJson<{ totals: Amounts[] }>(
        `${indexer.url}/v1/creators/${pair.address}/earnings?from=${from}&to=${to}&bucket=hour`,
      );
      expect(creator.status).toBe(200);
      expect(creator.body.totals).toEqual([expected]);
      const stream = await getJson<{ totals: Amounts[] }>(
        `${indexer.url}/v1/streams/${streamId}/earnings?from=${from}&to=${to}&bucket=day`,
      );
      expect(stream.body.totals).toEqual([expected]);

      let url = `${indexer.url}/v1/settlements?creator=${pair.address}&limit=7`;
      const ids = new Set<string>();
      for (;;) {
        const page = await getJson<{ items: { id: string; amount: string }[]; next: string | null }>(url);
        for (const item of page.body.items) ids.add(item.id);
        if (!page.body.next) break;
        url = `${indexer.url}/v1/settlements?creator=${pair.address}&limit=7&cursor=${page.body.next}`;
      }
      expect(ids.size).toBe(mine.length);
      settlementRows += ids.size;
    }
    expect(settlementRows).toBe(scenario.settlements);
    const streams = await getJson<{ items: { streamId: string; creator: string }[] }>(`${indexer.url}/v1/streams`);
    expect(new Set(streams.body.items.map((s) => `${s.streamId}@${s.creator}`))).toEqual(
      new Set(scenario.creators.map((c) => `${c.streamId}@${c.pair.address}`)),
    );
  }

  it('on PGlite', () => checkTotals(indexers.pglite), 180_000);

  it.skipIf(!pgUrl)('on PostgreSQL (DATABASE_URL)', () => checkTotals(indexers.postgres!), 180_000);
});
