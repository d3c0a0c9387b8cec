// The stage's costs on this machine.
// 1. Composition: the HLS relay's ffmpeg (its own arguments, started by a real Room through RoomHls) for 1, 2 and 4
//    participants each sending a 30 fps VP8 + Opus camera at 720p or 360p (stream copy of a pre-encoded clip into
//    PlainTransport producers). 1 participant is the single path (no composition); 2 and 4 are composed (grid) and
//    their microphones mixed, into the relay's ladder (HLS_LADDER, default high 720p + low 360p). CPU is the relay
//    ffmpeg's utime+stime from /proc over windows after a warm-up; whether it kept up is read from the segments it
//    wrote per wall second (numbered from the wall clock: the highest number's progress).
// 2. Consumers per worker with 4 publishers: viewers each a PlainTransport (SRTP) consuming the 4 cameras and 4
//    microphones (8 consumers) to a non-reading UDP sink, added level by level until the worker passes 80 % of a core.
// Usage: node --import tsx bench/stage/stage.ts [--windows=3] [--window=6] [--warmup=8] [--max=200] [--step=25]
//        [--only=composition|consumers] (the other part is kept from the results file)
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadSfuConfig, MEDIASOUP_VERSION, parseHlsFileName, type Room, Sfu } from '@persecond/sfu';
import type { types } from 'mediasoup';
import { cpuSeconds, numericArgs } from '../proc.ts';
import { median } from '../stats.ts';
import { type ClipSender, encodeCameraClip, startClipSender } from './senders.ts';

const here = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(here, '..', 'results', 'stage.json');
const opt = numericArgs();
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const WINDOWS = opt.windows ?? 3;
const WINDOW_S = opt.window ?? 6;
const WARMUP_S = opt.warmup ?? 8;
const MAX_VIEWERS = opt.max ?? 200;
const STEP = opt.step ?? 25;
const CLIP_S = 20;
const CPU_LIMIT = 80;
const run = promisify(execFile);
const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

/** The sources measured: camera size and its bit rate (a browser camera's order of magnitude). */
const SOURCES = { '720p30': { size: '1280x720', kbps: 2500 }, '360p30': { size: '640x360', kbps: 800 } } as const;
const PARTICIPANTS = [1, 2, 4];

/** The machine's busy and total jiffies (all cores), from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - (cpu[3] ?? 0) - (cpu[4] ?? 0), total };
}

/** Highest segment number of the relay's top rendition written so far (the live window deletes older ones). */
function highestSegment(dir: string): number {
  let highest = -1;
  const top = existsSync(join(dir, 'high.m3u8')) ? 'high' : undefined;
  for (const f of existsSync(dir) ? readdirSync(dir) : []) {
    const name = parseHlsFileName(f);
    if (name?.kind === 'segment' && (top === undefined || name.rendition === top))
      highest = Math.max(highest, name.seq);
  }
  return highest;
}

interface CompositionCase {
  source: keyof typeof SOURCES;
  participants: number;
  mode: 'single' | 'composed';
  cpuRuns: number[];
  cpuMedian: number;
  /** % of one core per second of media written: what keeping up costs (robust to a starved ffmpeg). */
  cpuAtRealTime: number;
  /** Media seconds written per wall second over the windows (1 = real time). */
  realTime: number;
  /** The mediasoup worker's CPU meanwhile (forwarding to the relay), % of one core, median. */
  workerCpu: number;
  loadAvg1m: number[];
  /** Cores busy with other work during the windows (the machine's busy time less the relay ffmpeg). */
  otherCores: number[];
}

async function measureComposition(sfu: Sfu, hlsDir: string, tmp: string): Promise<CompositionCase[]> {
  const segmentSeconds = sfu.config.hlsSegmentSeconds;
  const workerPid = sfu.health().pids[0] as number;
  const cases: CompositionCase[] = [];
  for (const [source, spec] of Object.entries(SOURCES) as [
    keyof typeof SOURCES,
    (typeof SOURCES)[keyof typeof SOURCES],
  ][]) {
    const clip = await encodeCameraClip(tmp, spec.size, spec.kbps, CLIP_S);
    for (const n of PARTICIPANTS) {
      const streamId = `stage-${source}-${n}`;
      const room: Room = await sfu.openRoom(streamId);
      const senders: ClipSender[] = [];
      try {
        for (let i = 0; i < n; i++) senders.push(await startClipSender(room, i === 0 ? 'host' : `guest-${i}`, clip));
        await sleep(1500);
        await room.addHlsViewer('bench');
        const relay = room.hlsRelay;
        const pid = relay?.pid;
        if (!relay || !pid) throw new Error(`${streamId}: no relay`);
        const dir = join(hlsDir, streamId);
        // The warm-up runs from the first segment (ffmpeg probes every input first).
        for (let waited = 0; highestSegment(dir) < 0; waited += 250) {
          if (waited > 60_000) throw new Error(`${streamId}: no segment within 60 s`);
          await sleep(250);
        }
        await sleep(WARMUP_S * 1000);
        const seg0 = highestSegment(dir);
        const cpu0 = cpuSeconds(pid);
        const t0 = performance.now();
        const cpuRuns: number[] = [];
        const workerRuns: number[] = [];
        const otherCores: number[] = [];
        const loads: number[] = [];
        for (let w = 0; w < WINDOWS; w++) {
          const c0 = cpuSeconds(pid);
          const k0 = cpuSeconds(workerPid);
          const m0 = machineJiffies();
          const w0 = performance.now();
          await sleep(WINDOW_S * 1000);
          const secs = (performance.now() - w0) / 1000;
          const used = cpuSeconds(pid) - c0;
          const m1 = machineJiffies();
          const machineCores = ((m1.busy - m0.busy) / (m1.total - m0.total)) * cpus().length;
          cpuRuns.push(round1((used / secs) * 100));
          workerRuns.push(round1(((cpuSeconds(workerPid) - k0) / secs) * 100));
          otherCores.push(round2(machineCores - used / secs));
          loads.push(round2(loadavg()[0] ?? 0));
        }
        const media = (highestSegment(dir) - seg0) * segmentSeconds;
        const wall = (performance.now() - t0) / 1000;
        if (relay.pid !== pid) throw new Error(`${streamId}: the relay's ffmpeg was replaced during the windows`);
        const c: CompositionCase = {
          source,
          participants: n,
          mode: n === 1 ? 'single' : 'composed',
          cpuRuns,
          cpuMedian: median(cpuRuns),
          cpuAtRealTime: media > 0 ? round1(((cpuSeconds(pid) - cpu0) / media) * 100) : Number.NaN,
          realTime: round2(media / wall),
          workerCpu: median(workerRuns),
          loadAvg1m: loads,
          otherCores,
        };
        cases.push(c);
        console.log(
          `${source} × ${n} (${c.mode.padEnd(8)}) relay ${String(c.cpuAtRealTime).padStart(6)} % of a core at real time ` +
            `(median ${c.cpuMedian}, runs ${cpuRuns.join(', ')}; real time ×${c.realTime}; worker ${c.workerCpu} %; ` +
            `load ${loads.join(', ')}; other cores ${otherCores.join(', ')})`,
        );
      } finally {
        for (const s of senders) s.close();
        await sfu.closeRoom(streamId);
      }
    }
  }
  return cases;
}

function startSink(): Promise<{ port: number; proc: ChildProcess }> {
  const proc = spawn('python3', [join(here, '..', 'sfu', 'udpSink.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.stdout?.once('data', (d: Buffer) => resolve({ port: Number(d.toString().trim()), proc }));
    proc.once('error', reject);
  });
}

interface ConsumerLevel {
  viewers: number;
  consumers: number;
  cpuRuns: number[];
  cpuMedian: number;
  /** Video received from the 4 publishers, kbit/s (drops when the machine starves the worker or the senders). */
  producersKbps: number;
  loadAvg1m: number;
}

async function measureConsumers(sfu: Sfu, tmp: string): Promise<{ levels: ConsumerLevel[]; summary: object }> {
  const clip = await encodeCameraClip(tmp, '640x360', 500, 10);
  const room = await sfu.openRoom('stage-consumers');
  const workerPid = sfu.health().pids[0] as number;
  const senders: ClipSender[] = [];
  const outs: types.PlainTransport[] = [];
  const sink = await startSink();
  const levels: ConsumerLevel[] = [];
  try {
    for (let i = 0; i < 4; i++) senders.push(await startClipSender(room, i === 0 ? 'host' : `guest-${i}`, clip));
    await sleep(2000);
    const router = room.originRouter;
    const producerIds = room.producers.map((p) => p.id);
    const inBytes = async () => (await Promise.all(senders.map((s) => s.videoBytes()))).reduce((a, b) => a + b, 0);
    const levelsPlan = [0, 10, ...Array.from({ length: Math.floor(MAX_VIEWERS / STEP) }, (_, i) => (i + 1) * STEP)];
    for (const viewers of levelsPlan) {
      while (outs.length < viewers) {
        const t = await router.createPlainTransport({
          listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
          rtcpMux: true,
          comedia: false,
          enableSrtp: true,
        });
        await t.connect({
          ip: '127.0.0.1',
          port: sink.port,
          srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: randomBytes(30).toString('base64') },
        });
        for (const id of producerIds) await t.consume({ producerId: id, rtpCapabilities: router.rtpCapabilities });
        outs.push(t);
      }
      await sleep(1500);
      const b0 = await inBytes();
      const t0 = performance.now();
      const cpuRuns: number[] = [];
      for (let r = 0; r < WINDOWS; r++) {
        const c0 = cpuSeconds(workerPid);
        const w0 = performance.now();
        await sleep(3000);
        cpuRuns.push(round1(((cpuSeconds(workerPid) - c0) / ((performance.now() - w0) / 1000)) * 100));
      }
      const kbps = Math.round((((await inBytes()) - b0) * 8) / ((performance.now() - t0) / 1000) / 1000);
      const level = {
        viewers,
        consumers: viewers * producerIds.length,
        cpuRuns,
        cpuMedian: median(cpuRuns),
        producersKbps: kbps,
        loadAvg1m: round2(loadavg()[0] ?? 0),
      };
      levels.push(level);
      console.log(
        `4 publishers, viewers ${String(viewers).padStart(4)}  consumers ${String(level.consumers).padStart(5)}  ` +
          `worker ${String(level.cpuMedian).padStart(5)} % (runs ${cpuRuns.join(', ')})  video in ${kbps} kbps  load ${level.loadAvg1m}`,
      );
      if (level.cpuMedian >= CPU_LIMIT) break;
    }
  } finally {
    for (const t of outs) t.close();
    for (const s of senders) s.close();
    sink.proc.stdin?.end();
    sink.proc.kill();
    await sfu.closeRoom('stage-consumers');
  }
  // Least squares through the loaded levels: CPU per consumer, and where the line crosses 80 %.
  const pts = levels.filter((l) => l.consumers > 0).map((l) => [l.consumers, l.cpuMedian] as const);
  const n = pts.length;
  const sx = pts.reduce((a, [x]) => a + x, 0);
  const sy = pts.reduce((a, [, y]) => a + y, 0);
  const sxx = pts.reduce((a, [x]) => a + x * x, 0);
  const sxy = pts.reduce((a, [x, y]) => a + x * y, 0);
  const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  const intercept = (sy - slope * sx) / n;
  const under = levels.filter((l) => l.cpuMedian < CPU_LIMIT);
  return {
    levels,
    summary: {
      cpuPercentPerConsumerSlope: Number(slope.toFixed(4)),
      consumersBelow80PercentMeasured: under.at(-1)?.consumers ?? 0,
      consumersAt80PercentProjected: Math.floor((CPU_LIMIT - intercept) / slope),
      viewersAt80PercentProjected: Math.floor((CPU_LIMIT - intercept) / slope / 8),
      reachedLimit: levels.some((l) => l.cpuMedian >= CPU_LIMIT),
    },
  };
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'bench-stage-'));
  const hlsDir = join(tmp, 'hls');
  const loadAtStart = loadavg().map(round2);
  const previous = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, 'utf8')) : undefined;
  const sfu = await Sfu.create(
    loadSfuConfig({
      SFU_NUM_WORKERS: '1',
      LOG_LEVEL: 'warn',
      HLS_DIR: hlsDir,
      RECORDING: 'off',
      THUMBNAIL_INTERVAL_SECONDS: '0',
      HLS_LINGER_SECONDS: '0',
      ...(process.env.HLS_LADDER ? { HLS_LADDER: process.env.HLS_LADDER } : {}),
    }),
  );
  let composition: CompositionCase[] = previous?.composition?.cases ?? [];
  let consumers: { levels: ConsumerLevel[]; summary: object } | undefined = previous?.consumers;
  const stop = async () => {
    await sfu.close();
    rmSync(tmp, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      stop().finally(() => process.exit(130));
    });
  }
  try {
    if (only !== 'consumers') composition = await measureComposition(sfu, hlsDir, tmp);
    if (only !== 'composition') consumers = await measureConsumers(sfu, tmp);
  } finally {
    await stop();
  }
  const at = (source: string, n: number) => composition.find((c) => c.source === source && c.participants === n);
  const perParticipant = Object.fromEntries(
    Object.keys(SOURCES).map((source) => {
      const one = at(source, 1)?.cpuAtRealTime ?? Number.NaN;
      return [
        source,
        Object.fromEntries(PARTICIPANTS.map((n) => [n, round1((at(source, n)?.cpuAtRealTime ?? Number.NaN) - one)])),
      ];
    }),
  );
  const two720 = at('720p30', 2);
  const four720 = at('720p30', 4);
  const four360 = at('360p30', 4);
  const projected = (consumers?.summary as { consumersAt80PercentProjected?: number } | undefined)
    ?.consumersAt80PercentProjected;
  const result = {
    name: 'stage',
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      node: process.version,
      mediasoup: MEDIASOUP_VERSION,
      ffmpeg: (await run('ffmpeg', ['-version'])).stdout.split('\n')[0],
      loadAvgAtStart: loadAtStart,
      loadAvgAtEnd: loadavg().map(round2),
      note: 'shared 2-core VM with other helpers\u2019 tests and benches running: every figure was taken under that load (each case gives the 1-minute load average and the cores busy with other work per window); compare ratios, not absolutes',
    },
    load: {
      sources: `per participant a ${CLIP_S}-s clip (testsrc2 with temporal noise, VP8 libvpx realtime, a keyframe a second, + Opus 64 kbps) looped in real time by ffmpeg with stream copy into PlainTransport producers adopted as the participant's: ${JSON.stringify(SOURCES)}`,
      relay: `the room's own HLS relay (RoomHls → HlsRelay → ffmpeg with hlsEncodeArgs), ladder ${sfu.config.hlsLadder.map((r) => `${r.name}:${r.maxHeight}:${r.videoKbps}`).join(',')}; 1 participant = the single path, 2 and 4 = grid composition (xstack, fps 30) + amix`,
      consumers:
        '4 publishers (640x360 VP8 500 kbps + Opus); viewers = SRTP PlainTransports with 8 consumers each to a non-reading UDP sink',
    },
    method: {
      cpu: `relay ffmpeg utime+stime from /proc/<pid>/stat over ${WINDOWS} windows of ${WINDOW_S} s after a ${WARMUP_S}-s warm-up, % of one core`,
      cpuAtRealTime: 'CPU seconds over the windows / media seconds the top rendition gained, % of one core',
      realTime: 'media seconds written per wall second (1 = keeps up; below 0.95 the machine starved it)',
      perParticipant: 'cpuAtRealTime(n) − cpuAtRealTime(1) per source size: the added cost of composing n',
      consumers: `mediasoup worker utime+stime over ${WINDOWS} windows of 3 s per level, median; line through the levels, crossing ${CPU_LIMIT} %`,
    },
    composition: { cases: composition, addedByComposition: perParticipant },
    consumers,
    targets: {
      twoCameras720pWithinOneCore: {
        target:
          'composing 2 cameras at 720p30 into the ladder costs under 100 % of one core (the other core of 2 left to mediasoup and signaling)',
        value: two720?.cpuAtRealTime ?? null,
        pass: two720 !== undefined && two720.cpuAtRealTime < 100,
      },
      fourCameras360pWithinOneCore: {
        target: 'composing 4 cameras at 360p30 costs under 100 % of one core',
        value: four360?.cpuAtRealTime ?? null,
        pass: four360 !== undefined && four360.cpuAtRealTime < 100,
      },
      fourCameras720pRealTime: {
        target: 'composing 4 cameras at 720p30 keeps up with real time (≥ 0.95 media s per wall s) on this machine',
        value: four720?.realTime ?? null,
        pass: four720 !== undefined && four720.realTime >= 0.95,
      },
      consumersPerWorkerWith4Publishers: {
        target:
          'one worker forwards ≥ 500 consumers (mediasoup\u2019s order of magnitude) below 80 % of a core with 4 publishers',
        value: projected ?? null,
        pass: projected !== undefined && projected >= 500,
      },
    },
  };
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
  console.log('\ntargets');
  console.table(
    Object.fromEntries(Object.entries(result.targets).map(([k, t]) => [k, { value: t.value, pass: t.pass }])),
  );
  console.log(`wrote ${RESULTS}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
