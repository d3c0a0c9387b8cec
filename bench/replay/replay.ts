// Recording and replay costs on the real server (signaling/src/bin/server.ts as `npm start` runs it, recording on, the
// default HLS ladder): a 720p30 H.264 + AAC source pushed over RTMP as OBS does (passed through to the relay, which
// encodes the ladder and is recorded), then
// - disk bytes per recorded minute per rendition (the recording's segment files over its recorded seconds);
// - the time from a stream's end (`stream:end` sent) to its replay available (`GET /v1/streams/:id/replay` says ready);
// - replay viewers served per core by the HLS edge: paying replay sessions (funded on chain, vouchers for every tick)
//   whose players fetch one segment of the top rendition per second with their replay tokens, added level by level;
//   the edge process's CPU over windows, and the signaling process's (which charges each new second once).
// The machine may be shared: each window records the load average and the cores other processes kept busy.
// Usage: node --import tsx bench/replay/replay.ts [--record=90] [--short=15] [--end-runs=3] [--levels=25,50,100]
//   [--windows=3] [--window=15] [--warmup=5] [--database=postgres|pglite]
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { connect, createSessionKey, sessionIdOf, startDevChain, TxSubmitter } from '@persecond/contracts-client';
import { DEFAULT_HLS_LADDER, parseHlsFileName, parseHlsLadder } from '@persecond/sfu';
import { WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import type { Socket } from 'socket.io-client';
import { Service } from '../../scripts/start/Service.ts';
import { SIGNALING_NODE_FLAGS } from '../../signaling/src/bin/nodeFlags.ts';
import { openSocket, request, signIn } from '../../signaling/test/support/clients.ts';
import { callOk } from '../../signaling/test/viewers-support.ts';
import { machineBusySeconds, processGroup, procStat } from '../signaling/procCpu.ts';
import {
  benchArgs,
  cleanup,
  cleanups,
  fundSessions,
  load,
  quantile,
  r1,
  r2,
  root,
  scratchPostgres,
} from '../signaling/stack.ts';
import type { ViewerSpec } from '../signaling/tickingProtocol.ts';
import { median } from '../stats.ts';
import { type PlayCounts, ReplayViewers } from './replayViewers.ts';

const here = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(here, '..', 'results', 'replay.json');
const args = benchArgs();
const RECORD_S = Number(args.opt('record', '90'));
const SHORT_S = Number(args.opt('short', '15'));
const END_RUNS = Number(args.opt('end-runs', '3'));
const LEVELS = args
  .opt('levels', '25,50,100')
  .split(',')
  .map(Number)
  .sort((a, b) => a - b);
const WINDOWS = Number(args.opt('windows', '3'));
const WINDOW_S = Number(args.opt('window', '15'));
const WARMUP_S = Number(args.opt('warmup', '5'));
const DATABASE = args.opt('database', process.env.DATABASE_URL ? 'postgres' : 'pglite');
const PRICE = 1_000_000n;
const BUDGET = 10n ** 15n;
const SEGMENT_SECONDS = 1;
const VIEWERS_PER_WALLET = 5;
/** The ladder recorded (the deployment's default) and the source pushed. */
const LADDER = parseHlsLadder(DEFAULT_HLS_LADDER);
const SOURCE = { width: 1280, height: 720, fps: 30, videoKbps: 2500, audioKbps: 128 };
/** What the relay's AAC adds to each rendition (sfu/src/hls/ffmpegArgs.ts). */
const RELAY_AUDIO_KBPS = 96;

const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** A loopback TCP port nobody listens on right now (for the RTMP server, which needs one given). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (!address || typeof address !== 'object') throw new Error('no free port');
  return address.port;
}

/** ffmpeg pushing the 720p30 source as OBS does (x264, 2-s GOP, AAC, FLV over RTMP), in real time. */
function push(rtmpUrl: string): ChildProcess {
  const proc = spawn(
    'ffmpeg',
    [
      ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi'],
      ['-i', `testsrc2=size=${SOURCE.width}x${SOURCE.height}:rate=${SOURCE.fps},noise=alls=6:allf=t+u`],
      ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-g', '60'],
      ['-b:v', `${SOURCE.videoKbps}k`, '-maxrate', `${SOURCE.videoKbps}k`, '-bufsize', `${SOURCE.videoKbps * 2}k`],
      ['-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', `${SOURCE.audioKbps}k`, '-f', 'flv', rtmpUrl],
    ].flat(),
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  cleanups.push(() => proc.kill('SIGKILL'));
  return proc;
}

interface RecordedRun {
  streamId: string;
  recordedSeconds: number;
  /** `stream:end` sent → its ack, and → the first `GET …/replay` answering ready (ms, this client's clock). */
  endAckMs: number;
  endToReadyMs: number;
  /** Bytes of each rendition's segment files. */
  bytes: Record<string, number>;
}

async function main(): Promise<void> {
  const loadAtStart = load();
  const dataDir = mkdtempSync(join(tmpdir(), 'persecond-replay-bench-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const hlsDir = join(dataDir, 'hls');
  const chain = await startDevChain();
  cleanups.push(() => chain.close());
  const client = await connect(chain.wsUrl);
  cleanups.push(() => client.close());
  const submitter = new TxSubmitter(client.api);
  const devRpc = new WsProvider(chain.wsUrl);
  cleanups.push(() => devRpc.disconnect());
  await devRpc.isReady;
  const postgres = DATABASE === 'postgres' ? await scratchPostgres(process.env.DATABASE_URL ?? '') : undefined;
  if (postgres) cleanups.push(() => postgres.drop());
  const rtmpPort = await freePort();
  const server = new Service({
    name: 'signaling',
    command: process.execPath,
    args: [...SIGNALING_NODE_FLAGS, '--import', 'tsx', join(root, 'signaling/src/bin/server.ts')],
    cwd: root,
    env: {
      ...process.env,
      FORCE_COLOR: '0',
      PORT: '0',
      HLS_EDGE_PORT: '0',
      LOG_LEVEL: 'warn',
      CHAIN_WS_URL: chain.wsUrl,
      IPFS_DIR: join(dataDir, 'ipfs'),
      SIGNALING_DATA_DIR: join(dataDir, 'signaling'),
      DATABASE_URL: postgres?.url ?? '',
      REDIS_URL: '',
      HLS_DIR: hlsDir,
      SESSION_SECRET: randomUUID() + randomUUID(),
      SFU_NUM_WORKERS: '1',
      RECORDING: 'on',
      HLS_LADDER: DEFAULT_HLS_LADDER,
      HLS_SEGMENT_SECONDS: String(SEGMENT_SECONDS),
      THUMBNAIL_INTERVAL_SECONDS: '0',
      RTMP_PORT: String(rtmpPort),
      RTMP_H264_PASSTHROUGH: 'true',
      // Every sign-in and join comes from 127.0.0.1 and a few wallets.
      AUTH_RATE_LIMIT_MAX: '1000000',
      JOIN_RATE_LIMIT_MAX: '1000000',
      STREAM_CREATE_RATE_LIMIT_MAX: '1000',
      // Viewers acknowledge every tick but do not settle on chain; one replay token lasts the whole bench.
      SETTLE_EVERY_SECONDS: '3600',
      PAYMENT_GRACE_SECONDS: '3600',
      HLS_TOKEN_TTL_SECONDS: '600',
      FEE_RESERVE_PLANCK: (10n ** 11n).toString(),
    },
    readyLine: true,
  });
  cleanups.push(() => server.stop());
  const { url } = (await server.ready) as { url: string };
  const group = () => processGroup(server.pid);
  const serverPid = group().find((p) => p.ppid === server.pid && p.comm.startsWith('node'))?.pid;
  if (!serverPid) throw new Error('could not find the signaling server process');
  const edgePid = group().find((p) => p.ppid === serverPid && p.comm.startsWith('node'))?.pid;
  if (!edgePid) throw new Error('could not find the HLS edge process');
  console.log(`signaling ${url} (pid ${serverPid}, edge ${edgePid}), chain ${chain.wsUrl}, ledger ${DATABASE}`);

  const alice = new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri('//Alice');
  const aliceToken = await signIn(url, alice);
  const creator: Socket = await openSocket(url, aliceToken);
  cleanups.push(() => creator.close());

  /** One stream pushed over RTMP until `seconds` are recorded, then ended; its replay timed until ready. */
  const recordStream = async (seconds: number): Promise<RecordedRun> => {
    const created = await request(`${url}/v1/streams`, {
      token: aliceToken,
      body: { title: `replay bench ${seconds} s`, pricePerSecond: PRICE.toString(), asset: 'native' },
    });
    if (!created.body.ok) throw new Error(`stream creation refused: ${created.body.code}`);
    const streamId = created.body.streamId as string;
    const callData = (created.body.announcement as { callData: string }).callData;
    const announced = await submitter.submit(client.api.tx(client.api.createType('Call', callData)), alice);
    if (!announced.ok) throw new Error('the announcement failed on chain');
    for (let i = 0; ; i++) {
      const res = await request(`${url}/v1/streams/${streamId}`);
      if ((res.body.stream as { status?: string } | undefined)?.status === 'announced') break;
      if (i > 600) throw new Error('the announcement was not seen by the server');
      await sleep(100);
    }
    const key = await request(`${url}/v1/stream-keys`, { token: aliceToken, body: { streamId } });
    if (!key.body.ok) throw new Error(`stream key refused: ${key.body.code}`);
    const pusher = push(`rtmp://127.0.0.1:${rtmpPort}/live/${key.body.token as string}`);
    const info = join(hlsDir, '.recordings', streamId, 'recording.json');
    const recorded = () => {
      try {
        return (JSON.parse(readFileSync(info, 'utf8')) as { durationSeconds: number }).durationSeconds;
      } catch {
        return 0;
      }
    };
    // The recording's own seconds decide when to end (not this process's clock).
    const deadline = Date.now() + (seconds * 3 + 120) * 1000;
    while (recorded() < seconds) {
      if (pusher.exitCode !== null) throw new Error('the RTMP push stopped');
      if (Date.now() > deadline) throw new Error(`only ${recorded()} s recorded of ${seconds}`);
      await sleep(200);
    }
    const t0 = performance.now();
    await callOk(creator, 'stream:end', { streamId });
    const endAckMs = performance.now() - t0;
    let endToReadyMs = Number.NaN;
    for (;;) {
      const res = await request(`${url}/v1/streams/${streamId}/replay`);
      if ((res.body.replay as { status?: string } | undefined)?.status === 'ready') {
        endToReadyMs = performance.now() - t0;
        break;
      }
      if (performance.now() - t0 > 60_000) throw new Error('the replay was not ready 60 s after the end');
      await sleep(20);
    }
    pusher.kill('SIGKILL');
    const dir = join(hlsDir, '.recordings', streamId);
    const bytes: Record<string, number> = {};
    for (const f of readdirSync(dir)) {
      const name = parseHlsFileName(f);
      if (name?.kind !== 'segment') continue;
      bytes[name.rendition] = (bytes[name.rendition] ?? 0) + statSync(join(dir, f)).size;
    }
    const run = {
      streamId,
      recordedSeconds: recorded(),
      endAckMs: r1(endAckMs),
      endToReadyMs: r1(endToReadyMs),
      bytes,
    };
    console.log(
      `recorded ${r1(run.recordedSeconds)} s of ${streamId}: end ack ${run.endAckMs} ms, replay ready ${run.endToReadyMs} ms after the end; bytes ${JSON.stringify(bytes)}`,
    );
    return run;
  };

  const long = await recordStream(RECORD_S);
  const runs = [long];
  for (let i = 0; i < END_RUNS; i++) runs.push(await recordStream(SHORT_S));
  const perMinute = Object.fromEntries(
    Object.entries(long.bytes).map(([rendition, b]) => [rendition, Math.round((b / long.recordedSeconds) * 60)]),
  );
  /** What a rendition may take at most: its video cap and the relay's audio, per minute. */
  const capPerMinute = Object.fromEntries(
    LADDER.map((r) => [r.name, Math.round(((r.videoKbps + RELAY_AUDIO_KBPS) * 1000 * 60) / 8)]),
  );

  // Replay viewers of the long recording, level by level.
  const viewers = new ReplayViewers({
    url,
    streamId: long.streamId,
    genesisHash: client.facts.genesisHash,
    budget: BUDGET,
    segmentSeconds: SEGMENT_SECONDS,
  });
  cleanups.push(() => viewers.close());
  const levels: unknown[] = [];
  let made = 0;
  for (const level of LEVELS) {
    const specs: ViewerSpec[] = Array.from({ length: level - made }, (_, k) => {
      const seed = randomBytes(32);
      return {
        walletUri: `//PersecondReplayWallet${Math.floor((made + k) / VIEWERS_PER_WALLET)}`,
        seed: seed.toString('hex'),
        sessionId: sessionIdOf(createSessionKey(42, seed).address),
        mode: 'hls',
      };
    });
    made = level;
    await fundSessions(devRpc, client, submitter, specs);
    await viewers.add(specs);
    await sleep(WARMUP_S * 1000);
    viewers.take();
    const windows: {
      segmentsPerSecond: number;
      edgeCores: number;
      signalingCores: number;
      otherCores: number;
      load1m: number;
      refused: Record<string, number>;
      fetchP99Ms: number;
    }[] = [];
    for (let w = 0; w < WINDOWS; w++) {
      const e0 = procStat(edgePid)?.cpuSeconds ?? 0;
      const s0 = procStat(serverPid)?.cpuSeconds ?? 0;
      const g0 = group().reduce((a, p) => a + p.cpuSeconds, 0);
      const m0 = machineBusySeconds();
      const t0 = performance.now();
      await sleep(WINDOW_S * 1000);
      const secs = (performance.now() - t0) / 1000;
      const counts: PlayCounts = viewers.take();
      const edge = ((procStat(edgePid)?.cpuSeconds ?? 0) - e0) / secs;
      const signaling = ((procStat(serverPid)?.cpuSeconds ?? 0) - s0) / secs;
      const stack = (group().reduce((a, p) => a + p.cpuSeconds, 0) - g0) / secs;
      const machine = (machineBusySeconds() - m0) / secs;
      const sorted = [...counts.fetchMs].sort((a, b) => a - b);
      windows.push({
        segmentsPerSecond: r2(counts.segments / secs),
        edgeCores: r4(edge),
        signalingCores: r4(signaling),
        otherCores: r2(machine - stack),
        load1m: load()[0] ?? 0,
        refused: counts.refused,
        fetchP99Ms: r1(quantile(sorted, 0.99)),
      });
    }
    const rate = median(windows.map((w) => w.segmentsPerSecond));
    const edgeCores = median(windows.map((w) => w.edgeCores));
    const signalingCores = median(windows.map((w) => w.signalingCores));
    const result = {
      viewers: level,
      windows,
      /** One real-time viewer takes one 1-s segment per second. */
      realTimeViewers: rate,
      edgeCores,
      signalingCores,
      viewersPerEdgeCore: edgeCores > 0 ? Math.round(rate / edgeCores) : null,
      viewersPerNodeCore: edgeCores + signalingCores > 0 ? Math.round(rate / (edgeCores + signalingCores)) : null,
      refused: windows.reduce((n, w) => n + Object.values(w.refused).reduce((a, b) => a + b, 0), 0),
    };
    levels.push(result);
    console.log(
      `${String(level).padStart(4)} replay viewers: ${rate} segments/s served, edge ${edgeCores} cores (${result.viewersPerEdgeCore} viewers/core), signaling ${signalingCores} cores; refused ${result.refused}; load ${windows.map((w) => w.load1m).join(', ')}, other cores ${windows.map((w) => w.otherCores).join(', ')}`,
    );
  }
  viewers.close();

  const top = levels.at(-1) as { viewersPerEdgeCore: number | null; refused: number; realTimeViewers: number };
  const endToReady = median(runs.map((r) => r.endToReadyMs));
  const result = {
    name: 'replay',
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      node: process.version,
      ffmpeg: execFileSync('ffmpeg', ['-version']).toString().split('\n')[0],
      loadAvgAtStart: loadAtStart,
      loadAvgAtEnd: load(),
      note: 'shared 2-core VM; other workloads may run at the same time: each window gives the 1-minute load average and the cores busy with other work (the machine’s busy time from /proc/stat less the server’s process group: this bench’s own process, with the dev chain and the 25–100 viewer clients, counts as other work)',
    },
    load: {
      source: `${SOURCE.width}x${SOURCE.height} ${SOURCE.fps} fps testsrc2 with temporal noise, x264 ultrafast baseline ${SOURCE.videoKbps} kbps (2-s GOP) + AAC ${SOURCE.audioKbps} kbps, pushed over RTMP in real time by ffmpeg and passed through (RTMP_H264_PASSTHROUGH) to the relay`,
      ladder: DEFAULT_HLS_LADDER,
      recordedSeconds: { long: RECORD_S, short: SHORT_S, shortRuns: END_RUNS },
      viewerLevels: LEVELS,
      viewers: `paying replay sessions of the ${RECORD_S}-s recording (funded on chain, a voucher for every tick), ${VIEWERS_PER_WALLET} per wallet, each fetching one segment of the top rendition per ${SEGMENT_SECONDS} s with its replay token (x-hls-token), from a random point, in order, wrapping; HLS_TOKEN_TTL_SECONDS=600 so one token lasts the bench`,
      ledger: DATABASE,
    },
    method: {
      bytesPerMinute:
        "Σ size of each rendition's segment files in the recording directory / the recording's seconds (recording.json) × 60",
      endToReady:
        '`stream:end` sent on the creator’s socket → the first `GET /v1/streams/:id/replay` (polled every 20 ms) answering status ready; median over the runs',
      viewersPerCore: `segments served per second (200s counted by the players; 1 segment = 1 s of one viewer at real time) / the HLS edge process's utime+stime per second (/proc/<pid>/stat), median of ${WINDOWS} windows of ${WINDOW_S} s after a ${WARMUP_S}-s warm-up per level; the signaling process (charging, ticks, vouchers) apart`,
    },
    runs,
    bytesPerRecordedMinute: perMinute,
    capBytesPerMinute: capPerMinute,
    levels,
    targets: {
      diskWithinLadderCaps: {
        target:
          "each rendition's recording takes no more per minute than its ladder cap (video cap + the relay's 96 kbps AAC) + 10 % (MPEG-TS overhead)",
        value: perMinute,
        pass: LADDER.every((r) => (perMinute[r.name] ?? Number.POSITIVE_INFINITY) <= (capPerMinute[r.name] ?? 0) * 1.1),
      },
      replayReadySeconds: {
        target: 'the replay is available within 5 s of the stream’s end (median)',
        value: r2(endToReady / 1000),
        pass: endToReady < 5_000,
      },
      replayViewersPerEdgeCore: {
        target: '≥ 500 real-time replay viewers per core of the HLS edge at the top level, every fetch served',
        value: top.viewersPerEdgeCore,
        pass: (top.viewersPerEdgeCore ?? 0) >= 500 && top.refused === 0,
      },
    },
  };
  writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nbytes per recorded minute: ${JSON.stringify(perMinute)} (caps ${JSON.stringify(capPerMinute)})`);
  console.log(`end → replay ready: median ${r1(endToReady)} ms (${runs.map((r) => r.endToReadyMs).join(', ')})`);
  for (const [name, t] of Object.entries(result.targets)) {
    console.log(`${t.pass ? 'PASS' : 'FAIL'} ${name}: ${JSON.stringify(t.value)} (${t.target})`);
  }
  console.log(`wrote ${RESULTS}`);
}

try {
  await main();
} finally {
  await cleanup();
}
process.exit(0);
