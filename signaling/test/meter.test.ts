import { createSocket, type Socket } from 'node:dgram';
import { U128_MAX } from '@persecond/contracts-client';
import { afterEach, describe, expect, it } from 'vitest';
import { type MeterTick, TickMeter, type TickMeterOptions } from '../src/payments/TickMeter.ts';

const INTERVAL = 100;
const meters: TickMeter[] = [];

afterEach(async () => {
  await Promise.all(meters.splice(0).map((m) => m.close()));
});

/** A meter whose ticks are collected per viewer. */
function meterWithLog(opts: Partial<TickMeterOptions> = {}) {
  const ticks = new Map<string, MeterTick[]>();
  const errors: { err: unknown; viewerId: string | undefined }[] = [];
  const meter = new TickMeter({
    intervalMs: INTERVAL,
    onTick: (id, tick) => {
      const list = ticks.get(id) ?? [];
      list.push(tick);
      ticks.set(id, list);
    },
    onError: (err, viewerId) => errors.push({ err, viewerId }),
    ...opts,
  });
  meters.push(meter);
  return { meter, ticks, errors, of: (id: string) => ticks.get(id) ?? [] };
}

/** Resolves once the meter has completed `n` more rounds. */
async function rounds(meter: TickMeter, n: number): Promise<void> {
  const target = meter.stats.rounds + n;
  while (meter.stats.rounds < target) await new Promise((r) => setTimeout(r, 10));
}

/** A probe that records its answers; `answer` decides each one. */
function countingProbe(answer: (call: number) => boolean | Promise<boolean>) {
  const answers: boolean[] = [];
  let calls = 0;
  const probe = () => {
    const a = answer(++calls);
    if (typeof a === 'boolean') answers.push(a);
    else void a.then((v) => answers.push(v));
    return a;
  };
  return { probe, answers, calls: () => calls, flowed: () => answers.filter(Boolean).length };
}

/** Every tick of a viewer: consecutive seqs from `seq0`, one second each, amount exactly seconds × price. */
function expectExact(list: MeterTick[], price: bigint, seq0 = 0, watched0 = 0): void {
  list.forEach((t, i) => {
    expect(t.seq).toBe(seq0 + i + 1);
    expect(t.watchedSeconds).toBe(watched0 + i + 1);
    expect(t.owed).toBe(BigInt(t.watchedSeconds) * price);
  });
}

describe('TickMeter', () => {
  it('ticks a viewer only in the rounds its media flowed, with exact amounts', async () => {
    const { meter, of } = meterWithLog();
    const always = countingProbe(() => true);
    const never = countingProbe(() => false);
    const everyOther = countingProbe((n) => n % 2 === 0);
    const later = countingProbe(() => new Promise<boolean>((r) => setImmediate(() => r(true))));
    const huge = U128_MAX / 1_000_000n;
    meter.add('always', { pricePerSecond: 7n, probe: always.probe });
    meter.add('never', { pricePerSecond: 7n, probe: never.probe });
    meter.add('every-other', { pricePerSecond: 1_000_000_000_001n, probe: everyOther.probe });
    meter.add('async', { pricePerSecond: 3n, probe: later.probe });
    meter.add('huge', { pricePerSecond: huge, probe: () => true });
    await rounds(meter, 6);
    await meter.close();
    const done = meter.stats.rounds;
    expect(done).toBeGreaterThanOrEqual(6);
    expect(always.calls()).toBe(done);
    expect(of('always')).toHaveLength(done);
    expectExact(of('always'), 7n);
    expect(never.calls()).toBe(done);
    expect(of('never')).toHaveLength(0);
    expect(of('every-other')).toHaveLength(everyOther.flowed());
    expect(everyOther.flowed()).toBe(Math.floor(done / 2));
    expectExact(of('every-other'), 1_000_000_000_001n);
    expect(of('async')).toHaveLength(later.flowed());
    expect(later.flowed()).toBe(done);
    expectExact(of('async'), 3n);
    expectExact(of('huge'), huge);
    expect(of('huge').at(-1)?.owed).toBe(BigInt(done) * huge);
    expect(meter.stats).toMatchObject({ ticks: 3 * done + Math.floor(done / 2), lateProbes: 0 });
  });

  it('pauses, resumes and removes viewers without losing or repeating a second', async () => {
    const { meter, of } = meterWithLog();
    const probe = countingProbe(() => true);
    meter.add('v', { pricePerSecond: 5n, probe: probe.probe });
    await rounds(meter, 2);
    expect(meter.pause('v')).toBe(true);
    const paused = meter.state('v');
    const callsAtPause = probe.calls();
    await rounds(meter, 3);
    expect(probe.calls()).toBe(callsAtPause);
    expect(meter.state('v')).toEqual(paused);
    expect(paused?.paused).toBe(true);
    expect(meter.resume('v')).toBe(true);
    await rounds(meter, 2);
    const removed = meter.remove('v');
    const callsAtRemove = probe.calls();
    await rounds(meter, 2);
    expect(probe.calls()).toBe(callsAtRemove);
    expect(meter.has('v')).toBe(false);
    expect(meter.remove('v')).toBeUndefined();
    expect(meter.pause('v')).toBe(false);
    expect(of('v')).toHaveLength(probe.calls());
    expectExact(of('v'), 5n);
    expect(removed).toEqual({ ...of('v').at(-1), paused: false });
    // The same viewer can come back later, from its stored seconds.
    meter.add('v', {
      pricePerSecond: 5n,
      probe: () => true,
      seq: removed!.seq,
      watchedSeconds: removed!.watchedSeconds,
    });
    await rounds(meter, 2);
    expectExact(of('v'), 5n);
    expect(() => meter.add('v', { pricePerSecond: 5n, probe: () => true })).toThrow(/already metered/);
  });

  it('resumes a stored session from its seconds and seq', async () => {
    const { meter, of } = meterWithLog();
    meter.add('resumed', { pricePerSecond: 11n, probe: () => true, watchedSeconds: 10, seq: 12, paused: true });
    await rounds(meter, 2);
    expect(of('resumed')).toHaveLength(0);
    expect(meter.state('resumed')).toEqual({ seq: 12, watchedSeconds: 10, owed: 110n, paused: true });
    meter.resume('resumed');
    await rounds(meter, 3);
    expect(of('resumed')[0]).toEqual({ seq: 13, watchedSeconds: 11, owed: 121n });
    expectExact(of('resumed'), 11n, 12, 10);
  });

  it('charges only while real packets arrive (a UDP media stand-in)', async () => {
    const receiver: Socket = createSocket('udp4');
    const sender: Socket = createSocket('udp4');
    await new Promise<void>((r) => receiver.bind(0, '127.0.0.1', () => r()));
    let bytes = 0;
    receiver.on('message', (msg) => {
      bytes += msg.length;
    });
    let seen = 0;
    const probe = countingProbe(() => {
      const flowed = bytes > seen;
      seen = bytes;
      return flowed;
    });
    let sending = true;
    const packet = Buffer.alloc(1200);
    const pump = setInterval(() => {
      if (sending) sender.send(packet, receiver.address().port, '127.0.0.1');
    }, 10);
    try {
      const { meter, of } = meterWithLog();
      meter.add('udp', { pricePerSecond: 2n, probe: probe.probe });
      await rounds(meter, 3);
      expect(of('udp').length).toBeGreaterThanOrEqual(2);
      sending = false;
      await rounds(meter, 2); // lets packets in flight drain
      const stalled = of('udp').length;
      await rounds(meter, 4);
      expect(of('udp')).toHaveLength(stalled);
      sending = true;
      await rounds(meter, 3);
      expect(of('udp').length).toBeGreaterThan(stalled);
      expect(of('udp')).toHaveLength(probe.flowed());
      expectExact(of('udp'), 2n);
    } finally {
      clearInterval(pump);
      sender.close();
      receiver.close();
    }
  });

  it('keeps running when probes throw, reject or hang, and when the tick callback throws', async () => {
    const ticked = new Map<string, number>();
    const { meter, errors } = meterWithLog({
      onTick: (id) => {
        if (id === 'bad-callback') throw new Error('callback failed');
        ticked.set(id, (ticked.get(id) ?? 0) + 1);
      },
    });
    meter.add('throws', {
      pricePerSecond: 1n,
      probe: () => {
        throw new Error('probe threw');
      },
    });
    meter.add('rejects', { pricePerSecond: 1n, probe: () => Promise.reject(new Error('probe rejected')) });
    const hung = countingProbe(() => new Promise<boolean>(() => {}));
    meter.add('hangs', { pricePerSecond: 1n, probe: hung.probe });
    meter.add('bad-callback', { pricePerSecond: 1n, probe: () => true });
    meter.add('fine', { pricePerSecond: 1n, probe: () => true });
    await rounds(meter, 4);
    await meter.close();
    const done = meter.stats.rounds;
    expect(ticked.get('fine')).toBe(done);
    expect(ticked.has('throws') || ticked.has('rejects') || ticked.has('hangs')).toBe(false);
    // A hung probe is not asked again while it hangs, and its round ends without it.
    expect(hung.calls()).toBe(1);
    expect(meter.stats.lateProbes).toBe(1);
    const byViewer = (id: string) => errors.filter((e) => e.viewerId === id).map((e) => (e.err as Error).message);
    expect(byViewer('throws')).toEqual(Array(done).fill('probe threw'));
    expect(byViewer('rejects')).toEqual(Array(done).fill('probe rejected'));
    expect(byViewer('bad-callback')).toEqual(Array(done).fill('callback failed'));
  });

  it('samples once per round before probing, and hands each round to afterRound', async () => {
    let samples = 0;
    let sampled = new Set<string>();
    const batches: number[] = [];
    let failNext = false;
    const { meter } = meterWithLog({
      beforeRound: () => {
        samples++;
        if (failNext) {
          failNext = false;
          throw new Error('room sample failed');
        }
        sampled = new Set(['a', 'b']);
      },
      afterRound: async (ticked) => {
        await new Promise((r) => setImmediate(r));
        batches.push(ticked);
      },
    });
    const probes = ['a', 'b', 'c'].map((id) => {
      const p = countingProbe(() => sampled.has(id));
      meter.add(id, { pricePerSecond: 1n, probe: p.probe });
      return p;
    });
    await rounds(meter, 3);
    failNext = true;
    // Until the meter took the failing sample (a round's start, not a span of the test's clock).
    while (failNext) await new Promise((r) => setTimeout(r, 10));
    await meter.close();
    expect(batches.length).toBe(meter.stats.rounds);
    expect(batches.every((n) => n === 2)).toBe(true);
    expect(samples).toBe(meter.stats.rounds + 1); // the failed sample skipped its round
    for (const p of probes) expect(p.calls()).toBe(meter.stats.rounds);
  });

  it('meters 10,000 viewers with one timer, exactly', async () => {
    const totals = new Map<string, MeterTick>();
    const { meter } = meterWithLog({ onTick: (id, t) => totals.set(id, t) });
    for (let i = 0; i < 10_000; i++) {
      meter.add(`viewer-${i}`, { pricePerSecond: BigInt(i), probe: i % 10 === 0 ? () => false : () => true });
    }
    await rounds(meter, 2);
    await meter.close();
    const done = meter.stats.rounds;
    expect(totals.size).toBe(9_000);
    for (const [id, t] of totals) {
      const price = BigInt(id.slice('viewer-'.length));
      expect(t).toEqual({ seq: done, watchedSeconds: done, owed: BigInt(done) * price });
    }
  });

  it('closes once, stops probing and refuses new viewers', async () => {
    const { meter } = meterWithLog();
    const probe = countingProbe(() => true);
    meter.add('v', { pricePerSecond: 1n, probe: probe.probe });
    await rounds(meter, 1);
    await Promise.all([meter.close(), meter.close()]);
    const calls = probe.calls();
    await new Promise((r) => setTimeout(r, INTERVAL * 3));
    expect(probe.calls()).toBe(calls);
    expect(meter.size).toBe(0);
    expect(() => meter.add('w', { pricePerSecond: 1n, probe: () => true })).toThrow(/closed/);
    await meter.close();
  });
});
