// CPU of the HLS relay's ffmpeg per rendition: the same 720p30 VP8 + Opus source (what a browser camera sends the
// relay) encoded by the relay's own ffmpeg arguments (`hlsEncodeArgs`, as FfmpegHls runs them) with ladders of 1, 2
// and 3 renditions in one process, and the 2-rendition ladder as two processes (each decoding the source) to weigh
// the one-process design. CPU is the ffmpeg process's utime+stime from /proc over windows after a warm-up; whether
// it kept up is read from the segments it wrote per wall second.
// Usage: node --import tsx bench/sfu/hlsLadder.ts [--windows=3] [--window=10] [--warmup=5]
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  DEFAULT_HLS_LADDER,
  hlsEncodeArgs,
  parseHlsFileName,
  parseHlsLadder,
  type Rendition,
  SINGLE_RENDITION,
} from '@persecond/sfu';
import { cpuSeconds, numericArgs } from '../proc.ts';
import { median } from '../stats.ts';

const here = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(here, '..', 'results', 'sfu-hls-ladder.json');
const opt = numericArgs();
const WINDOWS = opt.windows ?? 3;
const WINDOW_S = opt.window ?? 10;
const WARMUP_S = opt.warmup ?? 5;
const CLIP_S = 30;
const SEGMENT_SECONDS = 1;
const run = promisify(execFile);

/** The ladders measured: name → processes, each with its ladder spec. */
const CASES: Record<string, string[]> = {
  '1 rendition (high 720p)': ['high:720:2500'],
  '2 renditions (default: high 720p + low 360p)': [DEFAULT_HLS_LADDER],
  '3 renditions (720p + 480p + 360p)': ['high:720:2500,mid:480:1200,low:360:600'],
  '2 renditions as 2 processes': ['high:720:2500', 'low:360:600'],
};

/** The machine's busy and total jiffies (all cores), from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return { busy: total - idle, total };
}

/** A 720p30 clip as a browser camera would send it (VP8 2.5 Mbps, Opus), with sensor-like noise on a moving test card. */
async function encodeClip(dir: string): Promise<string> {
  const clip = join(dir, 'camera720p.webm');
  await run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi'],
    ...['-i', `testsrc2=size=1280x720:rate=30:duration=${CLIP_S},noise=alls=6:allf=t+u`],
    ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${CLIP_S}`],
    ...['-c:v', 'libvpx', '-b:v', '2500k', '-g', '60', '-deadline', 'realtime', '-cpu-used', '8'],
    ...['-c:a', 'libopus', '-b:a', '64k', '-ac', '2', clip],
  ]);
  return clip;
}

/** ffmpeg encoding `ladder` from the clip (looped, read in real time) into `dir`, with the relay's arguments. */
function startEncoder(clip: string, ladder: Rendition[], dir: string): ChildProcess {
  mkdirSync(dir, { recursive: true });
  const args = hlsEncodeArgs({
    input: { kind: 'args', args: ['-re', '-stream_loop', '-1', '-i', clip, '-re', '-stream_loop', '-1', '-i', clip] },
    ladder,
    segmentSeconds: SEGMENT_SECONDS,
    dir,
  });
  return spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Segments of rendition `prefix` written under `dir` so far (deleted ones included: the highest number + 1). */
function segmentsWritten(dir: string, prefix: string): number {
  let highest = -1;
  for (const f of readdirSync(dir)) {
    const name = parseHlsFileName(f);
    if (name?.kind === 'segment' && name.rendition === prefix) highest = Math.max(highest, name.seq);
  }
  return highest + 1;
}

interface CaseResult {
  name: string;
  processes: number;
  renditions: number;
  cpuRuns: number[];
  /** Median % of one core, all of the case's ffmpeg processes together. */
  cpuMedian: number;
  /**
   * % of one core per real-time second of media: CPU over all windows / media seconds the top rendition gained. On a
   * busy machine a starved ffmpeg falls behind and spends less per wall second; this is what keeping up costs.
   */
  cpuAtRealTime: number;
  /** Segments of the top rendition per wall second over the windows (1 = real time). */
  realTime: number;
  loadAvg1m: number[];
  /** Cores busy with other work during the windows (the machine's busy time less these processes). */
  otherCores: number[];
}

async function measure(name: string, specs: string[], clip: string, tmp: string): Promise<CaseResult> {
  const dirs = specs.map((_, i) => join(tmp, `${name.replace(/\W+/g, '-')}-${i}`));
  const ladders = specs.map((spec) => parseHlsLadder(spec));
  const procs = ladders.map((ladder, i) => startEncoder(clip, ladder, dirs[i] as string));
  // The first process's top rendition (a one-rendition ladder names its segments seg_NNNNN.ts).
  const top = ladders[0] as Rendition[];
  const prefix = top.length === 1 ? SINGLE_RENDITION : (top[0] as Rendition).name;
  try {
    await sleep(WARMUP_S * 1000);
    const cpuRuns: number[] = [];
    const otherCores: number[] = [];
    const loads: number[] = [];
    const seg0 = segmentsWritten(dirs[0] as string, prefix);
    const cpu0 = procs.reduce((a, p) => a + cpuSeconds(p.pid as number), 0);
    const t0 = performance.now();
    for (let w = 0; w < WINDOWS; w++) {
      const c0 = procs.reduce((a, p) => a + cpuSeconds(p.pid as number), 0);
      const m0 = machineJiffies();
      const w0 = performance.now();
      await sleep(WINDOW_S * 1000);
      const secs = (performance.now() - w0) / 1000;
      const used = procs.reduce((a, p) => a + cpuSeconds(p.pid as number), 0) - c0;
      const m1 = machineJiffies();
      const machineCores = ((m1.busy - m0.busy) / (m1.total - m0.total)) * cpus().length;
      cpuRuns.push(Math.round((used / secs) * 1000) / 10);
      otherCores.push(Math.round((machineCores - used / secs) * 100) / 100);
      loads.push(Math.round((loadavg()[0] ?? 0) * 100) / 100);
    }
    const mediaSeconds = (segmentsWritten(dirs[0] as string, prefix) - seg0) * SEGMENT_SECONDS;
    const realTime = mediaSeconds / ((performance.now() - t0) / 1000);
    const cpuTotal = procs.reduce((a, p) => a + cpuSeconds(p.pid as number), 0) - cpu0;
    const renditions = ladders.reduce((a, l) => a + l.length, 0);
    return {
      name,
      processes: specs.length,
      renditions,
      cpuRuns,
      cpuMedian: median(cpuRuns),
      cpuAtRealTime: Math.round((cpuTotal / mediaSeconds) * 1000) / 10,
      realTime: Math.round(realTime * 100) / 100,
      loadAvg1m: loads,
      otherCores,
    };
  } finally {
    for (const p of procs) p.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'bench-hls-ladder-'));
  const loadAtStart = loadavg().map((l) => Math.round(l * 100) / 100);
  const results: CaseResult[] = [];
  try {
    const clip = await encodeClip(tmp);
    for (const [name, specs] of Object.entries(CASES)) {
      const r = await measure(name, specs, clip, tmp);
      results.push(r);
      console.log(
        `${name.padEnd(46)} ${String(r.cpuAtRealTime).padStart(6)} % of a core at real time  (median ${r.cpuMedian}, runs ${r.cpuRuns.join(', ')}; ` +
          `real time ×${r.realTime}; load ${r.loadAvg1m.join(', ')}; other cores ${r.otherCores.join(', ')})`,
      );
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const [one, two, three, twoProcs] = results as [CaseResult, CaseResult, CaseResult, CaseResult];
  const round = (x: number) => Math.round(x * 10) / 10;
  const perRendition = {
    first: one.cpuAtRealTime,
    second: round(two.cpuAtRealTime - one.cpuAtRealTime),
    third: round(three.cpuAtRealTime - two.cpuAtRealTime),
  };
  const result = {
    name: 'sfu-hls-ladder',
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      node: process.version,
      ffmpeg: (await run('ffmpeg', ['-version'])).stdout.split('\n')[0],
      loadAvgAtStart: loadAtStart,
      loadAvgAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
      note: 'shared 2-core VM; other workloads may run at the same time: each case gives the 1-minute load average and the cores busy with other work (the machine’s busy time from /proc/stat less the measured ffmpeg) per window',
    },
    load: {
      source: `a ${CLIP_S}-s 1280x720 30 fps VP8 2.5 Mbps + Opus 64 kbps clip (testsrc2 with temporal noise, libvpx realtime), looped and read in real time (-re), as the relay's input from a browser camera (ffmpeg decodes VP8 there too; RTP depacketizing left out)`,
      encoder: `the relay's arguments (sfu/src/hls/ffmpegArgs.ts): libx264 veryfast zerolatency main, a keyframe per ${SEGMENT_SECONDS}-s segment, capped bit rate per rendition, AAC 96 kbps per rendition, MPEG-TS HLS`,
      cases: CASES,
    },
    method: {
      cpu: `ffmpeg processes' utime+stime from /proc/<pid>/stat over ${WINDOWS} windows of ${WINDOW_S} s after a ${WARMUP_S}-s warm-up, % of one core, median`,
      realTime: 'segments of the top rendition written per wall second over the windows (1 = keeps up)',
      cpuAtRealTime:
        'CPU seconds over all windows / media seconds the top rendition gained (segments × segment length), % of one core: the cost of keeping up, robust to a starved ffmpeg falling behind on a busy machine',
      perRendition: 'from cpuAtRealTime: second = cpu(2 renditions) − cpu(1); third = cpu(3) − cpu(2)',
    },
    cases: results,
    perRenditionCpuPercent: perRendition,
    onePipelineSaving: round(twoProcs.cpuAtRealTime - two.cpuAtRealTime),
    targets: {
      defaultLadderWithinOneCore: {
        target:
          'the default ladder (2 renditions) under 100 % of one core, leaving the other core of 2 to mediasoup and signaling',
        value: two.cpuAtRealTime,
        pass: two.cpuAtRealTime < 100,
      },
      defaultLadderRealTime: {
        target:
          'the default ladder keeps up with the source (≥ 0.95 media seconds per wall second; below it the machine starved it)',
        value: two.realTime,
        pass: two.realTime >= 0.95,
      },
      onePipelineCheaper: {
        target: 'one ffmpeg with several outputs costs less than one process per rendition (% of a core saved)',
        value: round(twoProcs.cpuAtRealTime - two.cpuAtRealTime),
        pass: twoProcs.cpuAtRealTime > two.cpuAtRealTime,
      },
    },
  };
  writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`per rendition: ${JSON.stringify(perRendition)} (% of a core); wrote ${RESULTS}`);
}

await main();
