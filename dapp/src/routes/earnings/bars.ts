// The earnings chart's periods and bars: one bar per bucket across the whole period (hourly, daily for 30 days), zero
// where nothing was earned, so a bar's width is always one hour (or day) and never the whole period.
import { type Bucket, EARNING_KINDS, type EarningKind, type Earnings } from '../../lib/api/earnings.ts';

/** Milliseconds of one bucket (UTC hours and days, as the indexer buckets them). */
export const BUCKET_MS: Readonly<Record<Bucket, number>> = { hour: 3_600_000, day: 86_400_000 };

/** A period the page offers: `count` buckets of `bucket`, the last one the current. */
export interface Period {
  key: string;
  label: string;
  bucket: Bucket;
  count: number;
}

/** Hourly bars for a day and a week, daily ones for 30 days. */
export const PERIODS: readonly Period[] = [
  { key: '24h', label: 'Last 24 hours', bucket: 'hour', count: 24 },
  { key: '7d', label: 'Last 7 days', bucket: 'hour', count: 7 * 24 },
  { key: '30d', label: 'Last 30 days', bucket: 'day', count: 30 },
];

/** How far ahead of this clock earnings are asked for: block timestamps may run ahead (the dev chain's do). */
const AHEAD_MS = 24 * 3_600_000;

/** Start (epoch ms) of the UTC bucket holding `t`. */
export function bucketStart(t: number, bucket: Bucket): number {
  const size = BUCKET_MS[bucket];
  return Math.floor(t / size) * size;
}

/** What to ask the indexer for: from the start of the period's first bucket, up to a day ahead of `now`. */
export function periodQuery(p: Period, now: number): { bucket: Bucket; from: Date; to: Date } {
  const first = bucketStart(now, p.bucket) - (p.count - 1) * BUCKET_MS[p.bucket];
  return { bucket: p.bucket, from: new Date(first), to: new Date(now + AHEAD_MS) };
}

/** Pending and final planck of one kind in one bar. */
export interface Part {
  final: bigint;
  pending: bigint;
}

/** One bar: a bucket's start (ISO) and each kind's final and pending planck in the chart's asset. */
export type Bar = { start: string } & Record<EarningKind, Part>;

/**
 * The bars of `asset` from the bucket of `from` through the bucket of `now`, and on to the last bucket with earnings
 * when block times run ahead of this clock: zero where nothing was earned.
 */
export function fillBars(
  earnings: Pick<Earnings, 'buckets'>,
  asset: string,
  from: Date,
  now: number,
  bucket: Bucket,
): Bar[] {
  const size = BUCKET_MS[bucket];
  const byStart = new Map(earnings.buckets.map((b) => [Date.parse(b.start), b]));
  const first = bucketStart(from.getTime(), bucket);
  const last = Math.max(bucketStart(now, bucket), ...byStart.keys());
  const bars: Bar[] = [];
  for (let t = first; t <= last; t += size) {
    const kinds = byStart.get(t)?.totals.find((x) => String(x.asset) === asset)?.kinds;
    const part = (k: EarningKind): Part => ({
      final: BigInt(kinds?.[k].final ?? '0'),
      pending: BigInt(kinds?.[k].pending ?? '0'),
    });
    bars.push({ start: new Date(t).toISOString(), ...kindParts(part) });
  }
  return bars;
}

function kindParts(part: (k: EarningKind) => Part): Record<EarningKind, Part> {
  return Object.fromEntries(EARNING_KINDS.map((k) => [k, part(k)])) as Record<EarningKind, Part>;
}
