// Consumers one mediasoup worker sustains below 80% of a core, and CPU per consumer.
// Load: one 500 kbps VP8 + Opus producer fed by ffmpeg (stream copy of a pre-encoded clip) into a PlainTransport;
// N viewers, each a PlainTransport with a video and an audio consumer sending RTP to a non-reading UDP sink.
// Consumers send SRTP (AES_CM_128_HMAC_SHA1_80, as WebRTC does) unless --srtp=0.
// Usage: node --import tsx bench/sfu/consumers.ts [--runs=3] [--window=3] [--max=1200] [--step=100] [--srtp=1]
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadSfuConfig, MEDIASOUP_VERSION, Sfu } from '@persecond/sfu';
import type { types } from 'mediasoup';
import { cpuSeconds, numericArgs } from '../proc.ts';
import { median } from '../stats.ts';

const here = dirname(fileURLToPath(import.meta.url));
const resultsFile = (srtp: boolean) => join(here, '..', 'results', srtp ? 'sfu.json' : 'sfu-plain-rtp.json');
const opt = numericArgs();
const RUNS = opt.runs ?? 3;
const WINDOW_S = opt.window ?? 3;
const MAX_VIEWERS = opt.max ?? 1200;
const STEP = opt.step ?? 100;
const SRTP = (opt.srtp ?? 1) !== 0;
const CPU_LIMIT = 80;
/**
 * A level whose producer input fell below this share of the idle level's input is "starved": the worker did not get
 * the CPU it needed (on a shared machine, usually other processes) and dropped input, so it also did less work.
 * Its CPU is then also reported scaled back to the full input rate (`cpuNormalized`).
 */
const STARVED_BELOW = 0.85;
/** Level at which the cost of flow sampling (one transport getStats per viewer) is measured. */
const SAMPLING_LEVEL = 100;
const SAMPLING_HZ = 4;
const VIDEO_SSRC = 11111111;
const AUDIO_SSRC = 22222222;

const run = promisify(execFile);

/** Percent of one core used by `pid` over `seconds`. */
async function cpuPercent(pid: number, seconds: number): Promise<number> {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  return ((cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000)) * 100;
}

async function encodeClip(dir: string): Promise<string> {
  const clip = join(dir, 'clip.webm');
  await run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=10'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=10'],
    ...['-c:v', 'libvpx', '-b:v', '500k', '-minrate', '500k', '-maxrate', '500k', '-g', '60', '-deadline', 'realtime'],
    ...['-cpu-used', '8', '-c:a', 'libopus', '-b:a', '64k', '-ac', '2', clip],
  ]);
  return clip;
}

function startSink(): Promise<{ port: number; proc: ChildProcess }> {
  const proc = spawn('python3', [join(here, 'udpSink.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.stdout!.once('data', (d: Buffer) => resolve({ port: Number(d.toString().trim()), proc }));
    proc.once('error', reject);
  });
}

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), 'bench-sfu-'));
  const sfu = await Sfu.create(
    loadSfuConfig({ SFU_NUM_WORKERS: '1', LOG_LEVEL: 'warn', HLS_DIR: join(tmp, 'hls'), RECORDING: 'off' }),
  );
  const room = await sfu.openRoom('bench');
  const router = room.originRouter;
  const workerPid = sfu.health().pids[0]!;
  const listenInfo = { protocol: 'udp' as const, ip: '127.0.0.1' };
  const sink = await startSink();
  let ffmpeg: ChildProcess | undefined;
  const levels: {
    viewers: number;
    consumers: number;
    cpuRuns: number[];
    cpuMedian: number;
    producerKbps: number;
    statsSampleMs: number;
    loadAvg1m: number;
    starved: boolean;
    cpuNormalized: number;
  }[] = [];
  let sampling:
    | {
        viewers: number;
        callsPerSecond: number;
        extraCpuPercent: number;
        noiseCpuPercent: number;
        cpuUsPerCallAtMost: number;
      }
    | undefined;
  // Ctrl-C / kill: still stop ffmpeg, the sink and the worker.
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    ffmpeg?.kill('SIGKILL');
    sink.proc.stdin?.end();
    sink.proc.kill();
    await sfu.close();
    rmSync(tmp, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      stop().finally(() => process.exit(130));
    });
  }
  try {
    const clip = await encodeClip(tmp);
    const vIn = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: true });
    const aIn = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: true });
    const video = await vIn.produce({
      kind: 'video',
      rtpParameters: {
        codecs: [{ mimeType: 'video/VP8', clockRate: 90000, payloadType: 101 }],
        encodings: [{ ssrc: VIDEO_SSRC }],
      },
    });
    const audio = await aIn.produce({
      kind: 'audio',
      rtpParameters: {
        codecs: [{ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 100 }],
        encodings: [{ ssrc: AUDIO_SSRC }],
      },
    });
    const rtp = (port: number) => `rtp://127.0.0.1:${port}?pkt_size=1200`;
    ffmpeg = spawn(
      'ffmpeg',
      [
        ...['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', clip],
        ...['-map', '0:v', '-c', 'copy', '-f', 'rtp', '-ssrc', String(VIDEO_SSRC), '-payload_type', '101'],
        rtp(vIn.tuple.localPort),
        ...['-map', '0:a', '-c', 'copy', '-f', 'rtp', '-ssrc', String(AUDIO_SSRC), '-payload_type', '100'],
        rtp(aIn.tuple.localPort),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    await sleep(2000);

    const caps = router.rtpCapabilities;
    const outs: types.PlainTransport[] = [];
    const addViewers = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const t = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: false, enableSrtp: SRTP });
        await t.connect({
          ip: '127.0.0.1',
          port: sink.port,
          // The sink never answers, so any valid remote key will do.
          srtpParameters: SRTP
            ? { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: randomBytes(30).toString('base64') }
            : undefined,
        });
        await t.consume({ producerId: video.id, rtpCapabilities: caps });
        await t.consume({ producerId: audio.id, rtpCapabilities: caps });
        outs.push(t);
      }
    };

    const plan = [
      ...new Set([
        0,
        25,
        50,
        75,
        100,
        150,
        ...Array.from({ length: Math.floor(MAX_VIEWERS / STEP) }, (_, i) => (i + 1) * STEP),
      ]),
    ].sort((a, b) => a - b);
    for (const viewers of plan) {
      await addViewers(viewers - outs.length);
      await sleep(1500);
      // Input rate over the whole measurement (a 1 s bitrate swings with every keyframe).
      const inBytes = async () => (await video.getStats()).reduce((a, st) => a + st.byteCount, 0);
      const in0 = await inBytes();
      const inT0 = performance.now();
      const cpuRuns: number[] = [];
      for (let r = 0; r < RUNS; r++) cpuRuns.push(await cpuPercent(workerPid, WINDOW_S));
      const inputBps = (((await inBytes()) - in0) * 8) / ((performance.now() - inT0) / 1000);
      const t0 = performance.now();
      await Promise.all(outs.map((t) => t.getStats()));
      const statsSampleMs = performance.now() - t0;
      const level = {
        viewers,
        consumers: viewers * 2,
        cpuRuns: cpuRuns.map((c) => Math.round(c * 10) / 10),
        cpuMedian: Math.round(median(cpuRuns) * 10) / 10,
        producerKbps: Math.round(inputBps / 1000),
        statsSampleMs: Math.round(statsSampleMs * 10) / 10,
        loadAvg1m: Math.round((loadavg()[0] ?? 0) * 10) / 10,
        // The producer's input rate collapses when the machine is too busy to run ffmpeg or the worker in time:
        // such a level measures the machine, not the worker.
        starved: levels.length > 0 && inputBps < STARVED_BELOW * (levels[0]!.producerKbps * 1000),
        cpuNormalized: 0,
      };
      const baseBps = (levels[0]?.producerKbps ?? inputBps / 1000) * 1000;
      level.cpuNormalized = Math.round(((level.cpuMedian * baseBps) / Math.max(inputBps, 1)) * 10) / 10;
      levels.push(level);
      console.log(
        `viewers ${String(viewers).padStart(5)}  consumers ${String(level.consumers).padStart(5)}  ` +
          `worker CPU ${level.cpuMedian.toFixed(1).padStart(5)}% (runs ${level.cpuRuns.join(', ')})  ` +
          `video in ${level.producerKbps} kbps  getStats x${outs.length} ${level.statsSampleMs} ms  ` +
          `load ${level.loadAvg1m}${level.starved ? `  STARVED (CPU at full input ~${level.cpuNormalized}%)` : ''}`,
      );
      // Past the first starved level the worker lags further behind every step (and setup requests queue for
      // seconds): stop there.
      if (level.cpuMedian >= CPU_LIMIT || level.starved) break;
      if (viewers === SAMPLING_LEVEL) {
        // What the tick meter's per-second flow sampling costs the worker: stats of every viewer transport, 4x/s.
        const timer = setInterval(() => {
          Promise.all(outs.map((t) => t.getStats())).catch(() => {});
        }, 1000 / SAMPLING_HZ);
        const withSampling: number[] = [];
        for (let r = 0; r < RUNS; r++) withSampling.push(await cpuPercent(workerPid, WINDOW_S));
        clearInterval(timer);
        const extra = median(withSampling) - level.cpuMedian;
        const calls = viewers * SAMPLING_HZ;
        // The spread of the windows is the noise floor: an increase inside it is not a measurement.
        const noise = Math.max(...withSampling, ...level.cpuRuns) - Math.min(...withSampling, ...level.cpuRuns);
        const bound = Math.max(extra, noise);
        sampling = {
          viewers,
          callsPerSecond: calls,
          extraCpuPercent: Math.round(extra * 10) / 10,
          noiseCpuPercent: Math.round(noise * 10) / 10,
          cpuUsPerCallAtMost: Math.round(((bound / 100) * 1e6) / calls),
        };
        console.log(
          `flow sampling: ${calls} getStats/s at ${viewers} viewers add ${sampling.extraCpuPercent}% CPU ` +
            `(noise ${sampling.noiseCpuPercent}%): at most ~${sampling.cpuUsPerCallAtMost} us per call`,
        );
      }
    }
  } finally {
    await stop();
  }

  // Least-squares line through (consumers, cpu%) over the loaded levels: slope = CPU per consumer.
  // Only levels that kept the full input rate: a starved worker's CPU describes the machine's other load.
  const valid = levels.filter((l) => l.consumers > 0 && !l.starved);
  const pts = valid.map((l) => [l.consumers, l.cpuMedian] as const);
  const n = pts.length;
  const sx = pts.reduce((a, [x]) => a + x, 0);
  const sy = pts.reduce((a, [, y]) => a + y, 0);
  const sxx = pts.reduce((a, [x]) => a + x * x, 0);
  const sxy = pts.reduce((a, [x, y]) => a + x * y, 0);
  const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  const intercept = (sy - slope * sx) / n;
  const under = levels.filter((l) => l.cpuMedian < CPU_LIMIT && !l.starved);
  const maxMeasured = under.at(-1)?.consumers ?? 0;
  const projected = Math.floor((CPU_LIMIT - intercept) / slope);
  const perConsumer = valid.map((l) => l.cpuMedian / l.consumers);
  const summary = {
    cpuPercentPerConsumerMedian: Number(median(perConsumer).toFixed(4)),
    consumersAt80PercentFromMedian: Math.floor(CPU_LIMIT / median(perConsumer)),
    cpuPercentPerConsumerSlope: Number(slope.toFixed(4)),
    cpuMicrosecondsPerConsumerSecond: Math.round(median(perConsumer) * 10_000),
    idleCpuPercent: levels[0]?.cpuMedian ?? 0,
    // Largest level that kept the full input rate while staying under 80% of a core.
    consumersBelow80PercentMeasured: maxMeasured,
    consumersAt80PercentProjected: projected,
    reachedLimit: levels.some((l) => l.cpuMedian >= CPU_LIMIT),
    stoppedBecauseStarved: levels.some((l) => l.starved),
    flowSampling: sampling,
  };
  console.log('\nsummary');
  console.table({ ...summary, flowSampling: undefined });
  const result = {
    name: 'sfu-consumers-per-worker',
    srtp: SRTP,
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model,
      cores: availableParallelism(),
      node: process.version,
      mediasoup: MEDIASOUP_VERSION,
      note: 'shared 2-core VM; other workloads may run concurrently; loopback sink (receive path cost is charged to the sender)',
    },
    method: {
      producer: 'VP8 640x360 30 fps 500 kbps + Opus 64 kbps, ffmpeg stream copy into PlainTransport',
      viewer: `PlainTransport (${SRTP ? 'SRTP AES_CM_128_HMAC_SHA1_80, like WebRTC' : 'plain RTP'}) with 1 video + 1 audio consumer to a non-reading UDP sink`,
      cpu: `worker process utime+stime from /proc over ${WINDOW_S} s windows, median of ${RUNS}`,
      normalization:
        'cpuNormalized = cpuMedian x idle input rate / measured input rate (fit and per-consumer figures use it)',
      anchor: 'mediasoup documents ~500 consumers per worker',
    },
    levels,
    summary,
  };
  const file = resultsFile(SRTP);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
