import {
  buildAnnouncement,
  buildFunding,
  buildSettlement,
  type ChainClient,
  connect,
  createSessionKey,
  type DevChain,
  sessionKeyPair,
  startDevChain,
} from '@persecond/contracts-client';
import { Keyring } from '@polkadot/keyring';
import { asc } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIndexerConfig } from '../src/config.ts';
import { settlements } from '../src/db/schema.ts';
import { type Indexer, startIndexer } from '../src/Indexer.ts';
import { createLogger } from '../src/logger.ts';
import { getJson, waitFor } from './support/http.ts';
import { SAMPLE_CID, sealBlock } from './support/scenario.ts';

const FINALITY_DEPTH = 2;

describe('fork handling on the dev chain (dev_setHead)', () => {
  let chain: DevChain;
  let client: ChainClient;
  let indexer: Indexer;

  beforeAll(async () => {
    chain = await startDevChain({ mode: 'Manual' });
    client = await connect(chain.wsUrl, { ss58: 42 });
    indexer = await startIndexer(
      loadIndexerConfig({
        CHAIN_WS_URL: chain.wsUrl,
        PORT: '0',
        INDEXER_DATA_DIR: 'memory://',
        INDEXER_FINALITY_DEPTH: String(FINALITY_DEPTH),
      }),
      { logger: createLogger('error') },
    );
  }, 300_000);
  afterAll(async () => {
    await indexer?.close();
    await client?.close();
    await chain?.close();
  });

  const head = async () => {
    const h = await client.api.rpc.chain.getHeader();
    return { number: h.number.toNumber(), hash: h.hash.toHex() };
  };
  const indexedTo = (target: { number: number; hash: string }) =>
    waitFor(
      async () => {
        const { body } = await getJson<{ indexedHead: { number: number; hash: string } | null }>(
          `${indexer.url}/v1/status`,
        );
        return body.indexedHead?.hash === target.hash ? true : undefined;
      },
      `indexed ${target.number} ${target.hash}`,
      60_000,
    );
  const rows = () => indexer.database.db.select().from(settlements).orderBy(asc(settlements.blockNumber));

  it('drops the pending rows of an abandoned block and never changes final rows', async () => {
    const alice = new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri('//Alice');
    const bob = new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri('//Bob');
    const session = sessionKeyPair(createSessionKey(42), 42);
    // Earnings count only transfers to the stream's announced creator: Alice announces it first.
    await sealBlock(client, [
      [buildAnnouncement(client, { streamId: 'fork-stream', metadataCid: SAMPLE_CID }), alice],
      [
        buildFunding(client, {
          sessionId: 'fork-s',
          sessionAccount: session.address,
          asset: 'native',
          budget: 10n ** 15n,
        }),
        bob,
      ],
    ]);
    const settle = (seq: number, amount: bigint) =>
      sealBlock(client, [
        [
          buildSettlement(client, {
            streamId: 'fork-stream',
            sessionId: 'fork-s',
            seq,
            creator: alice.address,
            asset: 'native',
            amount,
          }),
          session,
        ],
      ]);
    for (let seq = 1; seq <= 4; seq++) await settle(seq, 1000n * BigInt(seq));
    const before = await head();
    await indexedTo(before);
    const snapshot = await rows();
    const final = snapshot.filter((r) => r.status === 'final');
    const pending = snapshot.filter((r) => r.status === 'pending');
    expect(final.length).toBeGreaterThan(0);
    expect(pending.map((r) => r.blockNumber)).toEqual([before.number - 1, before.number]);

    // Abandon the top block: set the head back one block and build a different block at the same height.
    await client.api.rpc('dev_setHead' as never, (before.number - 1) as never);
    await settle(99, 777n);
    const forked = await head();
    expect(forked.number).toBe(before.number);
    expect(forked.hash).not.toBe(before.hash);
    await indexedTo(forked);

    const after = await rows();
    expect(after.filter((r) => r.blockHash === before.hash)).toEqual([]);
    expect(after.filter((r) => r.status === 'final').slice(0, final.length)).toEqual(final);
    const top = after.find((r) => r.blockHash === forked.hash);
    expect(top).toMatchObject({ seq: 99, amount: 777n, blockNumber: forked.number });
    expect(after.find((r) => r.id === pending[1]!.id)).toBeUndefined();
    expect(after.find((r) => r.id === pending[0]!.id)).toEqual(
      expect.objectContaining({ amount: pending[0]!.amount, blockHash: pending[0]!.blockHash }),
    );

    const times = after.map((r) => r.blockTime.getTime());
    const { body } = await getJson<{ totals: { pending: string; final: string }[] }>(
      `${indexer.url}/v1/streams/fork-stream/earnings?from=${Math.min(...times)}&to=${Math.max(...times) + 1}&bucket=hour`,
    );
    const sum = (list: typeof after) => list.reduce((a, r) => a + r.amount, 0n);
    const total = BigInt(body.totals[0]!.pending) + BigInt(body.totals[0]!.final);
    expect(total).toBe(sum(after));
    expect(total).toBe(1000n + 2000n + 3000n + 777n);
  }, 240_000);
});
