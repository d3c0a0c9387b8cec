import { randomBytes } from 'node:crypto';
import { buildServer, createLogger, IndexerMetrics, openDatabase, Queries, Store } from '@persecond/indexer';
import { encodeAddress } from '@polkadot/util-crypto';
import { sql } from 'drizzle-orm';

/** Latency of GET /v1/creators/:address/earnings over one database. */
export interface QueryRun {
  queries: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/**
 * Loads `creators` × `perCreator` settlement rows (3 streams per creator, spread over 90 days, 1% pending) into the
 * database at `databaseUrl`, then times `queries` earnings requests (random creator, last 30 days by day or last
 * 7 days by hour) through the real HTTP handler, `runs` times.
 */
export async function earningsQueryLatency(opts: {
  databaseUrl: string;
  creators: number;
  perCreator: number;
  queries: number;
  runs: number;
}): Promise<{ rows: number; loadSeconds: number; runs: QueryRun[] }> {
  const database = await openDatabase({ databaseUrl: opts.databaseUrl });
  const addresses = Array.from({ length: opts.creators }, () => encodeAddress(randomBytes(32), 42));
  const app = buildServer({
    store: new Store(database.db),
    queries: new Queries(database.db),
    ss58: 42,
    chain: () => ({}),
    metrics: new IndexerMetrics(),
    logger: createLogger('warn'),
  });
  try {
    const t0 = performance.now();
    // Each creator announced its 3 streams (earnings count only payments to a stream's announced creator); one
    // settlement in 10 pays for a replay.
    await database.db.execute(sql`
      insert into streams (id, stream_id, creator, metadata_cid, block_number, block_hash, extrinsic_index, event_index,
        extrinsic_hash, block_time, status)
      select 'ann:' || c.i || ':' || s, 'stream-' || c.i || '-' || s, c.addr, 'cid', 0, 'hash', 0, 0, 'xt',
        now() - interval '91 days', 'final'
      from jsonb_array_elements_text(${JSON.stringify(addresses)}::jsonb) with ordinality as c(addr, i), generate_series(0, 2) s`);
    await database.db.execute(sql`
      insert into settlements (id, kind, stream_id, session_id, seq, payer, creator, asset, amount, block_number,
        block_hash, extrinsic_index, event_index, extrinsic_hash, block_time, status)
      select 'row:' || c.i || ':' || g, case when g % 10 = 0 then 'replay'::settlement_kind else 'live' end,
        'stream-' || c.i || '-' || (g % 3), 'session-' || c.i || '-' || (g % 50), g,
        'payer', c.addr, 'native', (1000000007::numeric * (10 + g % 7)), g, 'hash', 1, 2, 'xt',
        now() - (random() * interval '90 days'), case when g % 100 = 0 then 'pending'::row_status else 'final' end
      from jsonb_array_elements_text(${JSON.stringify(addresses)}::jsonb) with ordinality as c(addr, i), generate_series(1, ${opts.perCreator}) g`);
    await database.db.execute(sql`analyze streams`);
    await database.db.execute(sql`analyze settlements`);
    const loadSeconds = (performance.now() - t0) / 1000;
    await app.ready();
    const runs: QueryRun[] = [];
    for (let r = 0; r < opts.runs; r++) {
      const times: number[] = [];
      for (let q = -20; q < opts.queries; q++) {
        const creator = addresses[Math.floor(Math.random() * addresses.length)]!;
        const url =
          q % 2 === 0
            ? `/v1/creators/${creator}/earnings?from=${Date.now() - 30 * 86_400_000}&bucket=day`
            : `/v1/creators/${creator}/earnings?from=${Date.now() - 7 * 86_400_000}&bucket=hour`;
        const s = performance.now();
        const res = await app.inject({ method: 'GET', url });
        const ms = performance.now() - s;
        if (res.statusCode !== 200) throw new Error(`earnings query failed: ${res.statusCode} ${res.body}`);
        if (q >= 0) times.push(ms);
      }
      times.sort((a, b) => a - b);
      runs.push({
        queries: times.length,
        p50Ms: percentile(times, 0.5),
        p95Ms: percentile(times, 0.95),
        p99Ms: percentile(times, 0.99),
      });
    }
    return { rows: opts.creators * opts.perCreator, loadSeconds, runs };
  } finally {
    await app.close();
    await database.close();
  }
}
