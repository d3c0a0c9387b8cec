import { DEV_ACCOUNTS } from '@persecond/contracts-client';
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../src/db/database.ts';
import { Queries } from '../src/db/queries.ts';
import { Store } from '../src/db/Store.ts';
import { streamMetadata } from '../src/db/schema.ts';
import { buildServer } from '../src/http/server.ts';
import { createLogger } from '../src/logger.ts';
import { IndexerMetrics } from '../src/metrics.ts';
import { chainOf, hashOf } from './support/blocks.ts';

const { Alice: alice, Bob: bob, Charlie: payer } = DEV_ACCOUNTS;
const hour = (h: number, minute = 0) => new Date(Date.UTC(2026, 2, 1, h, minute));
const COOKING_CID = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy';
const MUSIC_CID = 'bafkreidgvpkjawlxz6sffxzwgooowe5yt7i6wsyg236mfoks77nywkptdq';
const settlement = (
  sessionKind: 'live' | 'replay',
  streamId: string,
  creator: string,
  seq: number,
  amount: bigint,
  asset: 'native' | number = 'native',
  extrinsicIndex = seq,
) => ({
  type: 'settlement' as const,
  sessionKind,
  extrinsicIndex,
  eventIndex: 2 * seq,
  streamId,
  sessionId: `sess-${streamId}`,
  seq,
  payer,
  creator,
  asset,
  amount,
});
const pay = (streamId: string, creator: string, seq: number, amount: bigint, asset: 'native' | number = 'native') =>
  settlement('live', streamId, creator, seq, amount, asset);
/** A replay payment (`ps1:replay`) in extrinsic `extrinsicIndex` of its block. */
const replay = (streamId: string, creator: string, seq: number, amount: bigint, extrinsicIndex: number) =>
  settlement('replay', streamId, creator, seq, amount, 'native', extrinsicIndex);
const tip = (streamId: string, creator: string, n: number, amount: bigint) => ({
  type: 'tip' as const,
  extrinsicIndex: 100 + n,
  eventIndex: 200 + n,
  streamId,
  messageId: `msg-${n}`,
  from: payer,
  creator,
  asset: 'native' as const,
  amount,
});
const announce = (streamId: string, metadataCid: string, extrinsicIndex: number) => ({
  type: 'announcement' as const,
  extrinsicIndex,
  eventIndex: extrinsicIndex,
  streamId,
  metadataCid,
  creator: alice,
});
type Pair = [number | bigint, number | bigint];
/** An amounts entry as the API writes it: live, tip and replay (pending, final) and their sums. */
const entry = (asset: string, live: Pair, tips: Pair = [0, 0], replays: Pair = [0, 0]) => ({
  asset,
  pending: String(BigInt(live[0]) + BigInt(tips[0]) + BigInt(replays[0])),
  final: String(BigInt(live[1]) + BigInt(tips[1]) + BigInt(replays[1])),
  kinds: {
    live: { pending: String(live[0]), final: String(live[1]) },
    replay: { pending: String(replays[0]), final: String(replays[1]) },
    tip: { pending: String(tips[0]), final: String(tips[1]) },
  },
});
const BIG = 1_000_000_000_000_000_000_000n;

describe('earnings API on PGlite', () => {
  let database: Database;
  let app: FastifyInstance;
  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.json() };
  };

  beforeAll(async () => {
    database = await openDatabase({ dataDir: 'memory://' });
    const store = new Store(database.db);
    const blocks = chainOf(1, hashOf('genesis'), [
      { time: hour(9, 59), events: [announce('cooking', COOKING_CID, 1), announce('music', MUSIC_CID, 2)] },
      {
        time: hour(10, 1),
        events: [
          pay('cooking', alice, 1, BIG),
          pay('music', alice, 2, 7n),
          tip('cooking', alice, 1, 100n),
          replay('cooking', alice, 7, 13n, 0),
        ],
      },
      {
        time: hour(10, 30),
        // Earnings count only what is paid to the stream's announced creator: not to Bob, not on the unannounced
        // `news` (a remark can label a transfer to anyone), whatever the kind.
        events: [
          pay('cooking', alice, 3, 5n),
          pay('news', bob, 4, 9n),
          tip('cooking', bob, 2, 40n),
          tip('news', alice, 3, 8n),
          replay('cooking', bob, 9, 19n, 5),
          settlement('live', 'cooking', bob, 10, 23n, 'native', 6),
        ],
      },
      {
        time: hour(11, 5),
        events: [
          pay('cooking', alice, 5, 11n),
          pay('music', alice, 6, 3n, 1984),
          tip('cooking', alice, 4, 20n),
          replay('cooking', alice, 8, 17n, 4),
        ],
      },
    ]);
    await store.writeBatch(blocks, 3);
    // Cooking's metadata was fetched (its title shows); music's not yet.
    await database.db.insert(streamMetadata).values({ cid: COOKING_CID, state: 'fetched', title: 'Cooking with gas' });
    app = buildServer({
      store,
      queries: new Queries(database.db),
      ss58: 42,
      chain: () => ({}),
      metrics: new IndexerMetrics(),
      logger: createLogger('silent'),
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  it('sums a creator’s pending and final earnings per bucket, per stream, per asset and per kind, as decimal strings', async () => {
    const from = hour(0).toISOString();
    const to = hour(23).toISOString();
    const { status, body } = await get(`/v1/creators/${alice}/earnings?from=${from}&to=${to}&bucket=hour`);
    expect(status).toBe(200);
    expect(body.totals).toEqual([entry('native', [11, BIG + 12n], [20, 100], [17, 13]), entry('1984', [3, 0])]);
    expect(body.streams).toEqual([
      { streamId: 'cooking', title: 'Cooking with gas', ...entry('native', [11, BIG + 5n], [20, 100], [17, 13]) },
      { streamId: 'music', title: null, ...entry('native', [0, 7]) },
      { streamId: 'music', title: null, ...entry('1984', [3, 0]) },
    ]);
    expect(body.buckets.map((b: { start: string }) => b.start)).toEqual([
      hour(10).toISOString(),
      hour(11).toISOString(),
    ]);
    expect(body.buckets[0].totals).toEqual([entry('native', [0, BIG + 12n], [0, 100], [0, 13])]);
    expect(body.buckets[1].totals).toEqual([entry('native', [11, 0], [20, 0], [17, 0]), entry('1984', [3, 0])]);
    expect(body.buckets[1].streams).toEqual([
      { streamId: 'cooking', ...entry('native', [11, 0], [20, 0], [17, 0]) },
      { streamId: 'music', ...entry('1984', [3, 0]) },
    ]);
    const day = await get(`/v1/creators/${alice}/earnings?from=${from}&to=${to}&bucket=day`);
    expect(day.body.buckets).toHaveLength(1);
    expect(day.body.buckets[0].start).toBe(new Date(Date.UTC(2026, 2, 1)).toISOString());
    expect(day.body.buckets[0].totals).toEqual(body.totals);
  });

  it('honours from (inclusive) and to (exclusive), and accepts any SS58 format', async () => {
    const kusamaStyle = encodeAddress(decodeAddress(alice), 2);
    const { body } = await get(
      `/v1/creators/${kusamaStyle}/earnings?from=${hour(10, 30).getTime()}&to=${hour(11, 5).getTime()}&bucket=hour`,
    );
    expect(body.creator).toBe(alice);
    expect(body.totals).toEqual([entry('native', [0, 5])]);
  });

  it('reports one stream’s earnings and its announcement', async () => {
    const { status, body } = await get(
      `/v1/streams/cooking/earnings?from=${hour(0).toISOString()}&to=${hour(23).toISOString()}`,
    );
    expect(status).toBe(200);
    expect(body.totals).toEqual([entry('native', [11, BIG + 5n], [20, 100], [17, 13])]);
    const music = await get(`/v1/streams/music/earnings?from=${hour(0).toISOString()}&to=${hour(23).toISOString()}`);
    expect(music.body.totals).toEqual([entry('native', [0, 7]), entry('1984', [3, 0])]);
    // Bob was paid on Alice's stream and on a stream nobody announced: none of it is an earning.
    const bobs = await get(`/v1/creators/${bob}/earnings?from=${hour(0).toISOString()}&to=${hour(23).toISOString()}`);
    expect(bobs.body.totals).toEqual([]);
    const news = await get(`/v1/streams/news/earnings?from=${hour(0).toISOString()}&to=${hour(23).toISOString()}`);
    expect(news.body.totals).toEqual([]);
    expect(body.stream).toMatchObject({ streamId: 'cooking', creator: alice, status: 'final', blockNumber: 1 });
    const list = await get(`/v1/streams?creator=${alice}`);
    expect(list.body.items.map((s: { streamId: string }) => s.streamId).sort()).toEqual(['cooking', 'music']);
    expect((await get('/v1/streams/nope')).status).toBe(404);
  });

  it('pages through settlements with a cursor, newest first, each row exactly once', async () => {
    const seen: string[] = [];
    let url = `/v1/settlements?creator=${alice}&limit=2`;
    for (;;) {
      const { status, body } = await get(url);
      expect(status).toBe(200);
      seen.push(...body.items.map((s: { seq: number; amount: string }) => `${s.seq}:${s.amount}`));
      if (!body.next) break;
      url = `/v1/settlements?creator=${alice}&limit=2&cursor=${body.next}`;
    }
    expect(seen).toEqual(['6:3', '5:11', '8:17', '3:5', '2:7', '1:1000000000000000000000', '7:13']);
    const { body } = await get('/v1/settlements?stream=news');
    expect(body.items).toHaveLength(1);
    expect(body.items[0]).toMatchObject({ creator: bob, amount: '9', status: 'final', streamId: 'news', kind: 'live' });
    const replays = await get(`/v1/settlements?creator=${alice}&stream=cooking`);
    expect(replays.body.items.filter((s: { kind: string }) => s.kind === 'replay')).toMatchObject([
      { seq: 8, amount: '17', status: 'pending' },
      { seq: 7, amount: '13', status: 'final' },
    ]);
  });

  it('rejects malformed addresses and parameters with 400 BAD_REQUEST', async () => {
    for (const url of [
      '/v1/creators/not-an-address/earnings',
      `/v1/creators/${alice}/earnings?bucket=week`,
      `/v1/creators/${alice}/earnings?from=yesterday`,
      `/v1/creators/${alice}/earnings?from=${hour(12).toISOString()}&to=${hour(11).toISOString()}`,
      `/v1/creators/${alice}/earnings?unknown=1`,
      '/v1/settlements?limit=0',
      '/v1/settlements?cursor=%%%',
      '/v1/settlements?creator=5Grwva',
      '/v1/streams/has:colon/earnings',
    ]) {
      const { status, body } = await get(url);
      expect([url, status, body.code]).toEqual([url, 400, 'BAD_REQUEST']);
    }
  });
});
