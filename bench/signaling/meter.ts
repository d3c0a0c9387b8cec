// CPU the signaling TickMeter needs per 1,000 metered viewers per second (one tick each per second).
// Each level meters N viewers whose probes read a per-round flow sample (as the SFU room's sampleFlow provides;
// that sample's own cost is measured by bench/sfu) or answer asynchronously; every tick is turned into its wire form
// and queued for sending, and each round's batch is handed off, as the signaling node does.
// CPU is this process's user+system time (process.cpuUsage) over a window of rounds, median of several runs.
// Rounds run faster than once a second (--interval) to gather many rounds quickly; CPU per round is what is
// reported, and at one round per second that is the CPU per second.
// Usage: node --import tsx bench/signaling/meter.ts [--runs=5] [--rounds=10] [--interval=200]
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type MeterTick, TickMeter } from '../../signaling/src/payments/TickMeter.ts';
import { median } from '../stats.ts';

const here = dirname(fileURLToPath(import.meta.url));
const resultsFile = join(here, '..', 'results', 'signaling-meter.json');
const opt = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, Number(v)];
  }),
) as Record<string, number | undefined>;
const RUNS = opt.runs ?? 5;
const ROUNDS = opt.rounds ?? 10;
const INTERVAL_MS = opt.interval ?? 200;
const LEVELS = [1_000, 10_000, 50_000];
const PROBES = ['sample', 'async'] as const;
type ProbeKind = (typeof PROBES)[number];

/** CPU milliseconds per round for `viewers` metered viewers, over ROUNDS rounds after one warm-up round. */
async function measure(viewers: number, kind: ProbeKind): Promise<{ cpuMsPerRound: number; ticksPerRound: number }> {
  // The room's flow sample of the round: 90% of viewers received media.
  const flowing = new Map<string, boolean>();
  for (let i = 0; i < viewers; i++) flowing.set(`viewer-${i}`, i % 10 !== 0);
  const outbox: { id: string; tick: { seq: number; watchedSeconds: number; owed: string } }[] = [];
  let sent = 0;
  let rounds = 0;
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  let ticksAtStart = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const meter = new TickMeter({
    intervalMs: INTERVAL_MS,
    onTick: (id: string, t: MeterTick) => {
      outbox.push({ id, tick: { seq: t.seq, watchedSeconds: t.watchedSeconds, owed: t.owed.toString() } });
    },
    afterRound: () => {
      sent += outbox.length;
      outbox.length = 0;
      rounds++;
      if (rounds === 1) {
        cpuAtStart = process.cpuUsage();
        ticksAtStart = sent;
      } else if (rounds === ROUNDS + 1) done();
    },
    onError: (err) => {
      throw err;
    },
  });
  for (let i = 0; i < viewers; i++) {
    const id = `viewer-${i}`;
    const probe = kind === 'sample' ? () => flowing.get(id) === true : () => Promise.resolve(flowing.get(id) === true);
    meter.add(id, { pricePerSecond: 1_000_000n + BigInt(i), probe });
  }
  await finished;
  const cpu = process.cpuUsage(cpuAtStart);
  await meter.close();
  return { cpuMsPerRound: (cpu.user + cpu.system) / 1000 / ROUNDS, ticksPerRound: (sent - ticksAtStart) / ROUNDS };
}

const levels = [];
for (const kind of PROBES) {
  for (const viewers of LEVELS) {
    const runs: number[] = [];
    let ticksPerRound = 0;
    for (let r = 0; r < RUNS; r++) {
      const m = await measure(viewers, kind);
      runs.push(Math.round(m.cpuMsPerRound * 100) / 100);
      ticksPerRound = m.ticksPerRound;
    }
    const cpuMs = median(runs);
    levels.push({
      probe: kind,
      viewers,
      ticksPerRound,
      cpuMsPerRoundRuns: runs,
      cpuMsPerRoundMedian: cpuMs,
      cpuMsPer1000ViewersPerSecond: Math.round((cpuMs / (viewers / 1000)) * 1000) / 1000,
      coreSharePerSecondPercent: Math.round((cpuMs / 1000) * 100 * 100) / 100,
      viewersPerCoreExtrapolated: Math.round((viewers * 1000) / cpuMs),
      loadAvg1m: Math.round((loadavg()[0] ?? 0) * 10) / 10,
    });
  }
}

console.table(
  levels.map((l) => ({
    probe: l.probe,
    viewers: l.viewers,
    'ticks/round': l.ticksPerRound,
    'CPU ms/round (median)': l.cpuMsPerRoundMedian,
    'CPU ms per 1k viewers/s': l.cpuMsPer1000ViewersPerSecond,
    'core % at 1 tick/s': l.coreSharePerSecondPercent,
    'viewers/core (extrap.)': l.viewersPerCoreExtrapolated,
  })),
);

const result = {
  name: 'signaling-meter',
  date: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    node: process.version,
    loadAvg1mAtEnd: Math.round((loadavg()[0] ?? 0) * 10) / 10,
    note: 'shared 2-core VM; other engineers’ workloads run concurrently, so figures are upper bounds',
  },
  method: {
    meter: 'one TickMeter (single timer), viewers probed every round, 90% of them flowing',
    probes: {
      sample: 'sync probe reading the round’s flow sample (Map lookup), as with Room.sampleFlow in beforeRound',
      async: 'probe returning a Promise<boolean> per viewer per round',
    },
    perTick: 'wire tick built (owed bigint → decimal string) and queued; the queue is handed off after each round',
    cpu: `process.cpuUsage over ${ROUNDS} rounds after 1 warm-up round, interval ${INTERVAL_MS} ms, median of ${RUNS} runs`,
    perSecond: 'one round per second per viewer in production, so CPU per round = CPU per second',
  },
  levels,
};
writeFileSync(resultsFile, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${resultsFile}`);
