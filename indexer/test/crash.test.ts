import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChainClient, connect, type DevChain, startDevChain } from '@persecond/contracts-client';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseOptions, openDatabase, queryRows } from '../src/db/database.ts';
import { getJson, waitFor } from './support/http.ts';
import { spawnIndexer } from './support/indexerProcess.ts';
import { createScratchDatabase, type ScratchDatabase } from './support/postgres.ts';
import { runSettlementScenario, type Scenario, transfersToCreators } from './support/scenario.ts';

const pgUrl = process.env.DATABASE_URL;

describe('crash safety: kill -9 mid-backfill, restart, nothing duplicated or missing', () => {
  let chain: DevChain;
  let client: ChainClient;
  let scenario: Scenario;
  let head: number;
  let dir: string;
  let scratch: ScratchDatabase | undefined;

  beforeAll(async () => {
    chain = await startDevChain({ mode: 'Manual' });
    client = await connect(chain.wsUrl, { ss58: 42 });
    dir = await mkdtemp(join(tmpdir(), 'persecond-indexer-crash-'));
    scenario = await runSettlementScenario(client, { viewers: 2, rounds: 2 });
    // Empty blocks after the settlements make the backfill long enough to be killed in the middle: on PostgreSQL the
    // indexer wrote most of 20 blocks between the parent reading its 2nd batch line and the kill at load ~6.
    // Five blocks per call: a long dev_newBlock call can outlast the RPC timeout on a loaded machine.
    for (let i = 0; i < 16; i++) await client.api.rpc('dev_newBlock' as never, { count: 5 } as never);
    head = (await client.api.rpc.chain.getHeader()).number.toNumber();
  }, 600_000);

  afterAll(async () => {
    await scratch?.drop();
    await client?.close();
    await chain?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function indexedHead(url: string): Promise<number> {
    const { body } = await getJson<{ indexedHead: { number: number } | null }>(`${url}/v1/status`);
    return body.indexedHead?.number ?? -1;
  }

  async function crashAndRecover(env: Record<string, string>, options: DatabaseOptions): Promise<void> {
    const common = { ...env, CHAIN_WS_URL: chain.wsUrl, INDEXER_BATCH_SIZE: '2', LOG_LEVEL: 'debug' };
    const killedAt: number[] = [];
    for (const killAfter of [2, 4]) {
      const run = await spawnIndexer(common, ['--from', '0'], { killAfterBatches: killAfter });
      const dead = () => run.child.killed || run.child.exitCode !== null;
      // Should the backfill outrun its log on a busy machine and reach the head first, the kill lands there: the
      // restart must be exact either way, and the first kill is checked to have come mid-backfill below.
      await waitFor(
        async () => {
          if (dead()) return true;
          const indexed = await indexedHead(run.url).catch((error: unknown) => {
            if (dead()) return head;
            throw error;
          });
          return indexed >= head ? true : undefined;
        },
        `the kill after ${killAfter} batches`,
        120_000,
      );
      run.child.kill('SIGKILL');
      expect(await run.exited).toBe(null);
      killedAt.push(run.lastWritten());
    }
    // The first kill at least came mid-backfill, or the test proved nothing about crash safety.
    expect(killedAt[0]).toBeLessThan(head);
    const last = await spawnIndexer(common);
    try {
      const indexed = await waitFor(
        async () => ((await indexedHead(last.url)) === head ? head : undefined),
        `indexed head ${head}`,
        180_000,
      );
      expect(indexed).toBe(head);
    } finally {
      last.child.kill('SIGTERM');
      expect(await last.exited).toBe(0);
    }

    const transfers = await transfersToCreators(client, scenario, head);
    const database = await openDatabase(options);
    try {
      const [blocks] = await queryRows<{ n: string; lo: string; hi: string }>(
        database.db,
        sql`select count(*)::text as n, min(number)::text as lo, max(number)::text as hi from blocks`,
      );
      expect(blocks).toEqual({ n: String(head + 1), lo: '0', hi: String(head) });
      const hashes = await queryRows<{ number: string; hash: string }>(
        database.db,
        sql`select number::text, hash from blocks order by number`,
      );
      for (const { number, hash } of hashes) {
        expect(hash).toBe((await client.api.rpc.chain.getBlockHash(Number(number))).toHex());
      }
      const rows = await queryRows<{ creator: string; n: string; positions: string; total: string }>(
        database.db,
        sql`select creator, count(*)::text as n,
              count(distinct (block_hash, extrinsic_index, event_index))::text as positions, sum(amount)::text as total
            from settlements group by creator order by creator`,
      );
      const expected = scenario.creators
        .map(({ pair }) => {
          const mine = transfers.filter((t) => t.creator === pair.address);
          const n = String(mine.length);
          return { creator: pair.address, n, positions: n, total: mine.reduce((a, t) => a + t.amount, 0n).toString() };
        })
        .sort((a, b) => (a.creator < b.creator ? -1 : 1));
      expect(rows).toEqual(expected);
    } finally {
      await database.close();
    }
  }

  it('on PGlite', () => crashAndRecover({ INDEXER_DATA_DIR: dir }, { dataDir: dir }), 420_000);

  it.skipIf(!pgUrl)(
    'on PostgreSQL (DATABASE_URL)',
    async () => {
      scratch = await createScratchDatabase(pgUrl!);
      await crashAndRecover({ DATABASE_URL: scratch.url }, { databaseUrl: scratch.url });
    },
    420_000,
  );
});
