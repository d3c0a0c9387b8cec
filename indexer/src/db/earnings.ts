import { and, eq, gte, inArray, lt, type SQL, sql } from 'drizzle-orm';
import { unionAll } from 'drizzle-orm/pg-core';
import type { Db } from './database.ts';
import { settlements, streamMetadata, streams, tips } from './schema.ts';

/** Time buckets of the earnings API. */
export type Bucket = 'hour' | 'day';

/**
 * The kinds of earning, each reported on its own: per-second payments while watching live (`ps1:pay`), per-second
 * payments while watching a replay (`ps1:replay`), and tips (`ps1:tip`).
 */
export const EARNING_KINDS = ['live', 'replay', 'tip'] as const;

/** One kind of earning. */
export type EarningKind = (typeof EARNING_KINDS)[number];

/** Pending and final planck. */
export interface PendingFinal {
  pending: bigint;
  final: bigint;
}

/** Pending and final planck, per asset: all kinds together, and each kind on its own (they add up to the total). */
export interface AssetAmounts extends PendingFinal {
  asset: string;
  kinds: Record<EarningKind, PendingFinal>;
}

/** One stream's amounts in one asset. */
export interface StreamAmounts extends AssetAmounts {
  streamId: string;
}

/** Earnings in one time bucket. */
export interface EarningsBucket {
  start: Date;
  totals: AssetAmounts[];
  streams: StreamAmounts[];
}

/** Earnings over a time range: overall, per stream and per bucket. */
export interface Earnings {
  totals: AssetAmounts[];
  streams: StreamAmounts[];
  buckets: EarningsBucket[];
  /** The title of each stream in `streams`, from its fetched metadata (null while not fetched, or invalid). */
  titles: Map<string, string | null>;
}

/** Which earnings: a creator's (everything paid to that account) or one stream's. */
export type EarningsScope = { creator: string } | { streamId: string };

interface Row {
  kind: EarningKind;
  start: Date;
  streamId: string;
  asset: string;
  status: 'pending' | 'final';
  amount: bigint;
}

function emptyKinds(): Record<EarningKind, PendingFinal> {
  return Object.fromEntries(EARNING_KINDS.map((k) => [k, { pending: 0n, final: 0n }])) as Record<
    EarningKind,
    PendingFinal
  >;
}

function add(list: AssetAmounts[], row: Row): void;
function add(list: StreamAmounts[], row: Row, streamId: string): void;
function add(list: Array<AssetAmounts & { streamId?: string }>, row: Row, streamId?: string): void {
  let entry = list.find((e) => e.asset === row.asset && e.streamId === streamId);
  if (!entry) {
    const zero = { asset: row.asset, pending: 0n, final: 0n, kinds: emptyKinds() };
    entry = streamId === undefined ? zero : { streamId, ...zero };
    list.push(entry);
  }
  entry[row.status] += row.amount;
  entry.kinds[row.kind][row.status] += row.amount;
}

/** Folds (kind, bucket, stream, asset, status) sums into totals, per-stream and per-bucket amounts. */
function fold(rows: Row[]): Earnings {
  const out: Earnings = { totals: [], streams: [], buckets: [], titles: new Map() };
  const byStart = new Map<number, EarningsBucket>();
  for (const r of rows) {
    add(out.totals, r);
    add(out.streams, r, r.streamId);
    let bucket = byStart.get(r.start.getTime());
    if (!bucket) {
      bucket = { start: r.start, totals: [], streams: [] };
      byStart.set(r.start.getTime(), bucket);
      out.buckets.push(bucket);
    }
    add(bucket.totals, r);
    add(bucket.streams, r, r.streamId);
  }
  out.buckets.sort((a, b) => a.start.getTime() - b.start.getTime());
  // The native token first, then asset ids in numeric order; streams by id, then asset.
  const rank = (a: AssetAmounts) => (a.asset === 'native' ? -1 : Number(a.asset));
  const byAsset = (a: AssetAmounts, b: AssetAmounts) => rank(a) - rank(b);
  const order = (a: StreamAmounts, b: StreamAmounts) =>
    a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : byAsset(a, b);
  out.totals.sort(byAsset);
  for (const b of out.buckets) b.totals.sort(byAsset);
  out.streams.sort(order);
  for (const b of out.buckets) b.streams.sort(order);
  return out;
}

/** The rows of kinds of earning: settlements are live or replay earnings (their `kind`), tips are tips. */
type KindTable = typeof settlements | typeof tips;

/**
 * Earnings rows of `scope` in [from, to), summed per (kind, bucket, stream, asset, status); `kind` is the kind of
 * each row (a column, or a constant). A row counts only when paid to its stream's announced creator: a remark can
 * label a transfer to anyone.
 */
function sums(db: Db, kind: SQL, t: KindTable, q: Query) {
  // date_trunc with an explicit zone: buckets are UTC whatever the server's TimeZone setting.
  const start = sql<Date>`date_trunc(${q.bucket}, ${t.blockTime}, 'UTC')`.mapWith(t.blockTime);
  const scope = 'creator' in q.scope ? eq(t.creator, q.scope.creator) : eq(t.streamId, q.scope.streamId);
  const toAnnouncedCreator = sql`exists (select 1 from ${streams} where ${streams.streamId} = ${t.streamId} and ${streams.creator} = ${t.creator})`;
  return db
    .select({
      kind: sql<EarningKind>`${kind}`.as('kind'),
      start,
      streamId: t.streamId,
      asset: t.asset,
      status: t.status,
      amount: sql<bigint>`sum(${t.amount})`.mapWith(t.amount),
    })
    .from(t)
    .where(and(scope, gte(t.blockTime, q.from), lt(t.blockTime, q.to), toAnnouncedCreator))
    .groupBy(sql`1`, sql`2`, t.streamId, t.asset, t.status);
}

interface Query {
  scope: EarningsScope;
  from: Date;
  to: Date;
  bucket: Bucket;
}

/**
 * Earnings of `scope` between `from` (inclusive) and `to` (exclusive), per kind, stream, asset and bucket; one
 * statement, so every kind is read from the same snapshot and the totals add up.
 */
export async function earningsOf(
  db: Db,
  scope: EarningsScope,
  from: Date,
  to: Date,
  bucket: Bucket,
): Promise<Earnings> {
  const q = { scope, from, to, bucket };
  const rows = await unionAll(
    sums(db, sql`${settlements.kind}::text`, settlements, q),
    sums(db, sql`'tip'::text`, tips, q),
  );
  const earnings = fold(rows);
  earnings.titles = await titlesOf(db, [...new Set(earnings.streams.map((s) => s.streamId))]);
  return earnings;
}

/** Titles of `streamIds` from their announced metadata, when fetched (null otherwise). */
async function titlesOf(db: Db, streamIds: string[]): Promise<Map<string, string | null>> {
  const titles = new Map<string, string | null>(streamIds.map((id) => [id, null]));
  if (streamIds.length === 0) return titles;
  const rows = await db
    .select({ streamId: streams.streamId, title: streamMetadata.title })
    .from(streams)
    .innerJoin(streamMetadata, and(eq(streamMetadata.cid, streams.metadataCid), eq(streamMetadata.state, 'fetched')))
    .where(inArray(streams.streamId, streamIds));
  for (const r of rows) titles.set(r.streamId, r.title);
  return titles;
}
