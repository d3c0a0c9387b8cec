import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChainClient, connect, type DevChain, startDevChain } from '@persecond/contracts-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIndexerConfig } from '../src/config.ts';
import { startIndexer } from '../src/Indexer.ts';
import { createLogger } from '../src/logger.ts';
import { getJson, waitFor } from './support/http.ts';
import { spawnIndexer } from './support/indexerProcess.ts';

interface Status {
  indexedHead: { number: number; hash: string } | null;
  finalizedHead: { number: number; hash: string } | null;
  chain: { best: { number: number; hash: string } | null };
  lag: number | null;
}

describe('follower against the dev chain', () => {
  let chain: DevChain;
  let client: ChainClient;
  let dir: string;

  beforeAll(async () => {
    chain = await startDevChain();
    client = await connect(chain.wsUrl);
    dir = await mkdtemp(join(tmpdir(), 'persecond-indexer-'));
  });
  afterAll(async () => {
    await client?.close();
    await chain?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const newBlocks = (count: number) => client.api.rpc('dev_newBlock' as never, { count } as never);
  const bestNumber = async () => (await client.api.rpc.chain.getHeader()).number.toNumber();

  it('indexes new heads into PGlite and reports them in /v1/status', async () => {
    const config = loadIndexerConfig({
      CHAIN_WS_URL: chain.wsUrl,
      PORT: '0',
      INDEXER_DATA_DIR: 'memory://',
      INDEXER_FINALITY_DEPTH: '2',
    });
    const indexer = await startIndexer(config, { logger: createLogger('warn') });
    try {
      await newBlocks(3);
      const best = await bestNumber();
      const status = await waitFor(async () => {
        const { body } = await getJson<Status>(`${indexer.url}/v1/status`);
        return body.indexedHead?.number === best ? body : undefined;
      }, `indexed head ${best}`);
      const canonical = (await client.api.rpc.chain.getBlockHash(best)).toHex();
      expect(status.indexedHead).toEqual({ number: best, hash: canonical });
      expect(status.finalizedHead?.number).toBe(best - 2);
      expect(status.lag).toBe(0);
      for (let n = 0; n <= best; n++) {
        expect(await indexer.store.hashAt(n)).toBe((await client.api.rpc.chain.getBlockHash(n)).toHex());
      }
      const health = await getJson<{ ok: boolean }>(`${indexer.url}/healthz`);
      expect(health).toEqual({ status: 200, body: { ok: true } });
      const metrics = await (await fetch(`${indexer.url}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`^indexer_indexed_height ${best}$`, 'm'));
    } finally {
      await indexer.close();
      await indexer.close();
    }
  });

  it('serves while the chain is unreachable, and closes promptly', async () => {
    const unreachable = loadIndexerConfig({
      CHAIN_WS_URL: 'ws://127.0.0.1:9',
      PORT: '0',
      INDEXER_DATA_DIR: 'memory://',
    });
    const indexer = await startIndexer(unreachable, { logger: createLogger('silent') });
    try {
      expect(await getJson(`${indexer.url}/healthz`)).toEqual({ status: 200, body: { ok: true } });
      const { body } = await getJson<Status>(`${indexer.url}/v1/status`);
      expect(body).toEqual({
        indexedHead: null,
        finalizedHead: null,
        chain: { best: null, finalized: null },
        lag: null,
        finalizedLag: null,
        blocksPerSecond: 0,
        stopped: null,
      });
    } finally {
      await indexer.close();
    }
  });

  it('runs as a process: one ready line on stdout, follows heads, exits 0 on SIGTERM and resumes from its cursor', async () => {
    const run = (args: string[]) => spawnIndexer({ CHAIN_WS_URL: chain.wsUrl, INDEXER_DATA_DIR: dir }, args);

    const from = await bestNumber();
    const first = await run(['--from', String(from)]);
    expect(JSON.parse(first.lines[0]!)).toEqual({
      event: 'ready',
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
    });
    await newBlocks(2);
    const target = await bestNumber();
    await waitFor(async () => {
      const { body } = await getJson<Status>(`${first.url}/v1/status`);
      return body.indexedHead?.number === target ? true : undefined;
    }, `process indexed ${target}`);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.lines).toHaveLength(1);

    await newBlocks(2);
    const second = await run([]);
    try {
      const after = await bestNumber();
      const status = await waitFor(async () => {
        const { body } = await getJson<Status>(`${second.url}/v1/status`);
        return body.indexedHead?.number === after ? body : undefined;
      }, `restarted process indexed ${after}`);
      expect(status.indexedHead?.hash).toBe((await client.api.rpc.chain.getBlockHash(after)).toHex());
    } finally {
      second.child.kill('SIGINT');
      expect(await second.exited).toBe(0);
    }
  }, 240_000);
});
