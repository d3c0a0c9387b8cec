// A fatal error stops the follower with a clear message and a metric instead of being retried forever: on the dev
// chain a block the indexer already holds as final leaves the canonical chain (dev_setHead below it, then a new block
// at that height), which is a FINALITY_VIOLATION.
import { type ChainClient, connect, type DevChain, startDevChain } from '@persecond/contracts-client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIndexerConfig } from '../src/config.ts';
import { type Indexer, startIndexer } from '../src/Indexer.ts';
import { getJson, waitFor } from './support/http.ts';

interface Status {
  indexedHead: { number: number; hash: string } | null;
  stopped: { code: string; message: string; at: string } | null;
}

describe('fatal errors stop the follower', () => {
  let chain: DevChain;
  let client: ChainClient;
  let indexer: Indexer;
  const logs: Array<{ level: number; msg: string; code?: string }> = [];

  beforeAll(async () => {
    chain = await startDevChain({ mode: 'Manual' });
    client = await connect(chain.wsUrl, { ss58: 42 });
    // Keep what the indexer logs at error and above, to check the message it leaves.
    const logger = pino({ level: 'error' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    indexer = await startIndexer(
      loadIndexerConfig({
        CHAIN_WS_URL: chain.wsUrl,
        PORT: '0',
        INDEXER_DATA_DIR: 'memory://',
        // Every block final at once: the fork below abandons a final block.
        INDEXER_FINALITY_DEPTH: '0',
      }),
      { logger },
    );
  }, 300_000);
  afterAll(async () => {
    await indexer?.close();
    await client?.close();
    await chain?.close();
  });

  const status = async () => (await getJson<Status>(`${indexer.url}/v1/status`)).body;
  const metric = async (name: string) => {
    const text = await (await fetch(`${indexer.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(name));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  };

  it('stops on FINALITY_VIOLATION: says why in the status, the log and the metrics, and does not retry', async () => {
    await client.api.rpc('dev_newBlock' as never, { count: 3 } as never);
    const best = (await client.api.rpc.chain.getHeader()).number.toNumber();
    await waitFor(async () => ((await status()).indexedHead?.number === best ? true : undefined), `indexed ${best}`);

    // Replace the final top block: set the head back one block and build another at the same height.
    await client.api.rpc('dev_setHead' as never, (best - 1) as never);
    await client.api.rpc('dev_newBlock' as never);
    const stopped = await waitFor(async () => (await status()).stopped ?? undefined, 'the follower to stop', 60_000);
    expect(stopped.code).toBe('FINALITY_VIOLATION');
    expect(stopped.message).toMatch(new RegExp(`block ${best} is final|final block .* is no longer canonical`));
    expect(await metric('indexer_fatal_errors_total{code="FINALITY_VIOLATION"}')).toBe(1);
    expect(await metric('indexer_follower_stopped')).toBe(1);
    const fatal = logs.filter((l) => l.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ code: 'FINALITY_VIOLATION' });
    expect(fatal[0]!.msg).toMatch(/^indexer stopped: FINALITY_VIOLATION: .*Not retried/);

    // Not retried: more blocks and seconds later, no further sync round ran and nothing more was written.
    const written = await metric('indexer_blocks_written_total');
    await client.api.rpc('dev_newBlock' as never, { count: 2 } as never);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await metric('indexer_sync_errors_total')).toBe(0);
    expect(await metric('indexer_blocks_written_total')).toBe(written);
    expect((await status()).indexedHead?.number).toBe(best);
    // The API still serves; closing is still clean.
    expect((await getJson(`${indexer.url}/healthz`)).status).toBe(200);
  }, 240_000);
});
