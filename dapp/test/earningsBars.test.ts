// The earnings chart's periods and bars: hourly across a day and a week, daily across 30 days, one bar per bucket.
import { describe, expect, it } from 'vitest';
import { BUCKET_MS, bucketStart, fillBars, PERIODS, periodQuery } from '../src/routes/earnings/bars.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (iso: string) => Date.parse(iso);
const kinds = (live: [string, string], replay: [string, string] = ['0', '0'], tip: [string, string] = ['0', '0']) => ({
  live: { pending: live[0], final: live[1] },
  replay: { pending: replay[0], final: replay[1] },
  tip: { pending: tip[0], final: tip[1] },
});
const bucket = (start: string, asset: string, k: ReturnType<typeof kinds>) => ({
  start,
  totals: [{ asset: asset === 'native' ? ('native' as const) : Number(asset), pending: '0', final: '0', kinds: k }],
  streams: [],
});

describe('earnings periods', () => {
  it('asks for whole UTC buckets: 24 hours, 168 hours, 30 days, the last the current one', () => {
    const now = at('2026-12-07T10:17:42.000Z');
    const [day, week, month] = PERIODS.map((p) => periodQuery(p, now));
    expect(day).toMatchObject({ bucket: 'hour', from: new Date('2026-12-06T11:00:00.000Z') });
    expect(week).toMatchObject({ bucket: 'hour', from: new Date('2026-11-30T11:00:00.000Z') });
    expect(month).toMatchObject({ bucket: 'day', from: new Date('2026-11-08T00:00:00.000Z') });
    // A day ahead: block times may run ahead of this clock.
    for (const q of [day, week, month]) expect(q?.to.getTime()).toBe(now + DAY);
    expect(bucketStart(now, 'hour')).toBe(at('2026-12-07T10:00:00.000Z'));
    expect(bucketStart(now, 'day')).toBe(at('2026-12-07T00:00:00.000Z'));
    expect(BUCKET_MS).toEqual({ hour: HOUR, day: DAY });
  });
});

describe('fillBars', () => {
  it('has one bar per hour across the day, zero where nothing was earned, each kind of the chosen asset', () => {
    const now = at('2026-12-07T10:17:42.000Z');
    const { from } = periodQuery(PERIODS[0]!, now);
    const earnings = {
      buckets: [
        bucket('2026-12-06T23:00:00.000Z', 'native', kinds(['1', '2'], ['3', '4'], ['5', '6'])),
        bucket('2026-12-07T10:00:00.000Z', '1984', kinds(['7', '8'])),
      ],
    };
    const bars = fillBars(earnings, 'native', from, now, 'hour');
    expect(bars).toHaveLength(24);
    expect(bars[0]?.start).toBe('2026-12-06T11:00:00.000Z');
    expect(bars.at(-1)?.start).toBe('2026-12-07T10:00:00.000Z');
    for (let i = 1; i < bars.length; i++)
      expect(Date.parse(bars[i]!.start) - Date.parse(bars[i - 1]!.start)).toBe(HOUR);
    const eleven = bars.find((b) => b.start === '2026-12-06T23:00:00.000Z');
    expect(eleven).toEqual({
      start: '2026-12-06T23:00:00.000Z',
      live: { pending: 1n, final: 2n },
      replay: { pending: 3n, final: 4n },
      tip: { pending: 5n, final: 6n },
    });
    // The current hour's earnings are in the other asset: zero in this chart, shown in that one's.
    expect(bars.at(-1)?.live).toEqual({ pending: 0n, final: 0n });
    expect(fillBars(earnings, '1984', from, now, 'hour').at(-1)?.live).toEqual({ pending: 7n, final: 8n });
    const zero = bars.filter((b) => b !== eleven);
    expect(zero.every((b) => b.live.final + b.replay.final + b.tip.final + b.live.pending === 0n)).toBe(true);
  });

  it('goes on to the last bucket with earnings when block times run ahead of this clock', () => {
    const now = at('2026-12-07T10:17:42.000Z');
    const { from } = periodQuery(PERIODS[0]!, now);
    const ahead = { buckets: [bucket('2026-12-07T12:00:00.000Z', 'native', kinds(['0', '9']))] };
    const bars = fillBars(ahead, 'native', from, now, 'hour');
    expect(bars).toHaveLength(26);
    expect(bars.at(-1)).toMatchObject({ start: '2026-12-07T12:00:00.000Z', live: { pending: 0n, final: 9n } });
  });

  it('has one bar per day across 30 days and per hour across 7 days', () => {
    const now = at('2026-12-07T10:17:42.000Z');
    const month = periodQuery(PERIODS[2]!, now);
    const days = fillBars({ buckets: [] }, 'native', month.from, now, 'day');
    expect(days).toHaveLength(30);
    expect(days.at(-1)?.start).toBe('2026-12-07T00:00:00.000Z');
    const week = periodQuery(PERIODS[1]!, now);
    expect(fillBars({ buckets: [] }, 'native', week.from, now, 'hour')).toHaveLength(168);
  });
});
