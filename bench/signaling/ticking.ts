// Ticking viewers against ONE signaling server process (issue 5): server CPU per 1,000 ticking viewers and the
// client-side tick→ack time. A dev chain (chopsticks, in this process) and the real server (signaling/src/bin/server.ts,
// its own process group, as `npm start` runs it) with the HLS relay fed by a real WebRTC publisher (wrtc, in this
// process). Viewers run in forked processes (tickingViewers.ts): each has its own socket, ed25519 session key and
// wallet-signed delegation, is admitted by `viewer:join` (the server reads the session account's balance on chain; the
// balances are set with chopsticks' dev_setStorage), watches over HLS (playlist fetched every --fetch-every ms with
// its renewed token) or WebRTC (--rtc of them), and acknowledges every tick with a voucher signed by its session key.
// Levels are reached by adding viewers; at each level, once every viewer ticks and after a warm-up, --runs windows of
// --window seconds each measure the server's CPU from /proc/<pid>/stat (utime+stime), its ticks and vouchers from
// /metrics, and the viewers' tick→ack times, tick intervals, missed/duplicated ticks and ack errors.
// Usage: node --import tsx bench/signaling/ticking.ts [--levels=100,250,500,1000,2000] [--runs=3] [--window=20]
//   [--warmup=5] [--fetch-every=2000] [--rtc=2] [--per-wallet=1] [--clients=2] [--database=pglite,postgres]
//   [--server=<server entry>] [--out=<results file>] [--merge] [--profile] [--profile-clients]
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { freePort } from '../../scripts/start/freePort.ts';
import { median } from '../stats.ts';
import { longTasks, summarizeCpuProfile } from './cpuProfile.ts';
import { type ProcStat, processGroup, procStat, rssMegabytes } from './procCpu.ts';
import {
  addViewers,
  benchArgs,
  bucketDistribution,
  cleanup,
  cleanups,
  codeState,
  distribution,
  load,
  r1,
  r2,
  r3,
  root,
  serverCounters,
  startStack,
  startViewerProcesses,
  viewerSpecs,
  waitTicking,
} from './stack.ts';
import type { WindowStats } from './tickingProtocol.ts';
import { openWindowProfiler } from './windowProfiler.ts';

const here = dirname(fileURLToPath(import.meta.url));
const { flag, opt } = benchArgs();
const LEVELS = opt('levels', '100,250,500,1000,2000').split(',').map(Number);
const RUNS = Number(opt('runs', '3'));
const WINDOW_S = Number(opt('window', '20'));
const WARMUP_S = Number(opt('warmup', '5'));
const FETCH_EVERY_MS = Number(opt('fetch-every', '2000'));
const RTC = Number(opt('rtc', '2'));
const PER_WALLET = Number(opt('per-wallet', '25'));
/** Viewer processes (4 on 2 cores: more contention, a longer tail than 2). */
const CLIENTS = Number(opt('clients', '2'));
const PROFILE = flag('profile');
/** Profiles each viewer process over each window (to find what the clients spend) and prints the top functions. */
const PROFILE_CLIENTS = flag('profile-clients');
/** The server entry to measure (default: this checkout's); another build of it to compare a change. */
/** Where the results go; with --merge, backends measured earlier in that file and not now are kept. */
const RESULTS_FILE = opt('out', join(here, '..', 'results', 'signaling.json'));
/** Where the viewer processes write their window profiles (--profile-clients). */
const CLIENT_PROFILE_DIR = join(tmpdir(), `persecond-ticking-clients-${process.pid}`);
const MERGE = flag('merge');
/** More Node flags for the server process (comma-separated, after SIGNALING_NODE_FLAGS), e.g. `--max-old-space-size=512`. */
const SERVER_NODE_ARGS = opt('server-node-args', '').split(',').filter(Boolean);
const SERVER_ENTRY = opt('server', join(root, 'signaling', 'src', 'bin', 'server.ts'));
/** Ledger backends to measure: embedded PGlite (as `npm start` runs) and PostgreSQL when DATABASE_URL is set. */
const DATABASES = opt('database', process.env.DATABASE_URL ? 'pglite,postgres' : 'pglite').split(',') as (
  | 'pglite'
  | 'postgres'
)[];
/** A level counts as saturated (and no higher one is tried) when fewer viewers than this share tick each second. */
const SATURATED_BELOW = 0.9;
const TARGET_VIEWERS_PER_CORE = 10_000;
const TARGET_P99_MS = 50;
const TARGET_LEVEL = 2_000;

/** CPU seconds of the parts that matter, read at one instant. */
interface CpuSnapshot {
  at: number;
  server: number;
  mediasoup: number;
  ffmpeg: number;
  /** Node children of the server: the HLS edge process that serves playlists and segments. */
  hlsEdge: number;
  viewers: number;
  bench: number;
  postgres: number;
}

type Counters = Awaited<ReturnType<typeof serverCounters>>;

/** One measurement window: CPU per part, the server's ticks and vouchers, and the viewers' figures merged. */
function summarizeWindow(
  run: number,
  s0: CpuSnapshot,
  s1: CpuSnapshot,
  c0: Counters,
  c1: Counters,
  parts: WindowStats[],
) {
  const wall = (s1.at - s0.at) / 1000;
  const core = (k: keyof CpuSnapshot) => (s1[k] - s0[k]) / wall;
  const ticksPerSecond = (c1.ticks - c0.ticks) / wall;
  const serverCores = core('server');
  const all = <K extends keyof WindowStats>(k: K) => parts.map((p) => p[k]);
  const merge = (recs: Record<string, number>[]) => {
    const out: Record<string, number> = {};
    for (const r of recs) for (const [k, n] of Object.entries(r)) out[k] = (out[k] ?? 0) + n;
    return out;
  };
  const sumOf = (
    k: 'ticks' | 'missed' | 'duplicated' | 'vouchersSent' | 'refused' | 'paymentRequired' | 'segments' | 'segmentBytes',
  ) => parts.reduce((a, p) => a + p[k], 0);
  return {
    run: run + 1,
    seconds: r2(wall),
    ticksPerSecondServer: r1(ticksPerSecond),
    vouchersPerSecondServer: r1((c1.vouchersReceived - c0.vouchersReceived) / wall),
    signaturesVerifiedPerSecondServer: r1((c1.vouchersVerified - c0.vouchersVerified) / wall),
    vouchersInvalid: c1.vouchersInvalid - c0.vouchersInvalid,
    cpuCores: {
      server: r3(serverCores),
      mediasoupWorkers: r3(core('mediasoup')),
      ffmpeg: r3(core('ffmpeg')),
      hlsEdge: r3(core('hlsEdge')),
      viewerProcesses: r3(core('viewers')),
      benchProcess: r3(core('bench')),
      postgresBackends: r3(core('postgres')),
    },
    serverCoreSecondsPerSecondPer1000: r3(serverCores / (ticksPerSecond / 1000)),
    viewersPerCoreAt100: Math.round(ticksPerSecond / serverCores),
    viewersPerCoreAt80: Math.round((0.8 * ticksPerSecond) / serverCores),
    tickToAckMs: bucketDistribution(c0.tickVoucher, c1.tickVoucher),
    serverLoopDelayMs: { p99: c1.loopDelayP99Ms, max: c1.loopDelayMaxMs },
    viewerProcessLoopDelayMs: {
      p99: r2(Math.max(...parts.map((p) => p.loopDelayMs.p99))),
      max: r2(Math.max(...parts.map((p) => p.loopDelayMs.max))),
    },
    tickIntervalMs: distribution(all('tickIntervalMs').flat()),
    ticksReceived: sumOf('ticks'),
    missed: sumOf('missed'),
    duplicated: sumOf('duplicated'),
    vouchersSent: sumOf('vouchersSent'),
    ackErrors: sumOf('refused'),
    ackErrorCodes: merge(all('refusedCodes')),
    paymentRequired: sumOf('paymentRequired'),
    hlsFetches: merge(all('fetchStatuses')),
    hlsFetchMs: distribution(all('fetchMs').flat()),
    hlsSegmentsPerSecond: r1(sumOf('segments') / wall),
    hlsMegabytesPerSecond: r2(sumOf('segmentBytes') / wall / 1e6),
    loadAvg: load(),
  };
}

/** One ledger backend: the whole stack started, the levels measured, everything stopped. */
async function runBackend(database: 'pglite' | 'postgres') {
  console.log(`\n== ledger: ${database} ==`);
  const date = new Date().toISOString();
  const loadAvgAtStart = load();
  const inspectPort = PROFILE ? await freePort() : 0;
  const stack = await startStack({
    database,
    serverEntry: SERVER_ENTRY,
    serverNodeArgs: [...SERVER_NODE_ARGS, ...(PROFILE ? [`--inspect=127.0.0.1:${inspectPort}`] : [])],
    title: 'Ticking bench',
  });
  const { postgres, server, url, serverPid } = stack;
  const profileDir = join(stack.dataDir, 'profile');
  const profiler = await openWindowProfiler(PROFILE, inspectPort, profileDir, (close) => cleanups.push(close));
  const profiles: {
    viewers: number;
    run: number;
    top: ReturnType<typeof summarizeCpuProfile>;
    longTasks: ReturnType<typeof longTasks>;
  }[] = [];
  if (PROFILE_CLIENTS) mkdirSync(CLIENT_PROFILE_DIR, { recursive: true });
  cleanups.push(() => {
    if (!PROFILE_CLIENTS) return;
    for (const f of readdirSync(CLIENT_PROFILE_DIR).filter((n) => n.endsWith('.cpuprofile'))) {
      const file = join(CLIENT_PROFILE_DIR, f);
      console.log(`viewer profile ${file}:`, JSON.stringify(summarizeCpuProfile(file, 30)));
    }
  });
  const procs = await startViewerProcesses(
    stack,
    CLIENTS,
    FETCH_EVERY_MS,
    PROFILE_CLIENTS ? CLIENT_PROFILE_DIR : undefined,
  );

  const snapshot = async (): Promise<CpuSnapshot> => {
    const group = processGroup(server.pid);
    const pgPids = postgres ? await postgres.backendPids() : [];
    const sum = (ps: (ProcStat | undefined)[]) => ps.reduce((a, p) => a + (p?.cpuSeconds ?? 0), 0);
    return {
      at: performance.now(),
      server: procStat(serverPid)?.cpuSeconds ?? Number.NaN,
      mediasoup: sum(group.filter((p) => p.comm.startsWith('mediasoup'))),
      ffmpeg: sum(group.filter((p) => p.comm === 'ffmpeg')),
      hlsEdge: sum(group.filter((p) => p.ppid === serverPid && p.comm.startsWith('node'))),
      viewers: sum(procs.map((p) => procStat(p.pid))),
      bench: procStat(process.pid)?.cpuSeconds ?? Number.NaN,
      postgres: sum(pgPids.map((pid) => procStat(pid))),
    };
  };

  const levels = [];
  let admitted = 0;
  let nextViewer = 0;
  for (const level of LEVELS) {
    // ---- add viewers up to the level ----
    const specs = viewerSpecs(nextViewer, level - admitted, PER_WALLET, RTC);
    const added = await addViewers(stack, procs, nextViewer, specs, PER_WALLET);
    nextViewer += specs.length;
    const { joinFailures, fundMs, joinMs } = added;
    admitted += added.ok;
    console.log(
      `level ${level}: ${admitted} admitted (funding ${fundMs} ms, joins ${joinMs} ms)` +
        (Object.keys(joinFailures).length ? `, refused ${JSON.stringify(joinFailures)}` : ''),
    );

    // ---- wait until every admitted viewer ticks ----
    const { ticking, waitedMs, neverTicked, neverTickedFetches, firstTick } = await waitTicking(procs, admitted);
    console.log(
      `level ${level}: ${ticking}/${admitted} ticking after ${waitedMs} ms; ` +
        `admission→first tick p50 ${firstTick.p50} p99 ${firstTick.p99} ms` +
        (neverTicked
          ? `; ${neverTicked} never ticked, e.g. HLS fetches ${JSON.stringify(neverTickedFetches.slice(0, 4))}`
          : ''),
    );
    await sleep(WARMUP_S * 1000);

    // ---- measurement windows ----
    const windows: ReturnType<typeof summarizeWindow>[] = [];
    for (let run = 0; run < RUNS; run++) {
      const c0 = await serverCounters(url);
      const s0 = await snapshot();
      await profiler?.start();
      for (const p of procs) p.send({ type: 'window-start' });
      await sleep(WINDOW_S * 1000);
      for (const p of procs) p.send({ type: 'window-end' });
      if (profiler) {
        const file = join(profileDir, `server-${level}-${run + 1}.cpuprofile`);
        await profiler.stop(file);
        profiles.push({ viewers: level, run: run + 1, top: summarizeCpuProfile(file, 30), longTasks: longTasks(file) });
        console.log(`server profile ${file}:`, JSON.stringify(profiles.at(-1)));
      }
      const s1 = await snapshot();
      const c1 = await serverCounters(url);
      const parts: WindowStats[] = (await Promise.all(procs.map((p) => p.next('window')))).map((w) => w.stats);
      const w = summarizeWindow(run, s0, s1, c0, c1, parts);
      windows.push(w);
      console.log(
        `level ${level} run ${run + 1}: ${w.ticksPerSecondServer} ticks/s, server ${r1(w.cpuCores.server * 100)} % of a core ` +
          `(HLS edge ${r1(w.cpuCores.hlsEdge * 100)} %, ${w.signaturesVerifiedPerSecondServer} signatures verified/s), ` +
          `tick→ack p50 ${w.tickToAckMs.p50} p99 ${w.tickToAckMs.p99} ms, server loop delay p99 ${w.serverLoopDelayMs.p99} ` +
          `max ${w.serverLoopDelayMs.max} ms, viewer processes' p99 ${w.viewerProcessLoopDelayMs.p99} max ` +
          `${w.viewerProcessLoopDelayMs.max} ms, load ${w.loadAvg[0]}`,
      );
    }
    const med = (f: (w: (typeof windows)[number]) => number) => r3(median(windows.map(f)));
    const saturated = med((w) => w.ticksPerSecondServer) < SATURATED_BELOW * admitted;
    levels.push({
      viewers: level,
      admitted,
      saturated,
      joinFailures,
      fundMs,
      joinMs,
      admissionToFirstTickMs: firstTick,
      neverTicked,
      serverRssMb: rssMegabytes(serverPid),
      median: {
        ticksPerSecondServer: med((w) => w.ticksPerSecondServer),
        serverCorePercent: r1(med((w) => w.cpuCores.server) * 100),
        serverCoreSecondsPerSecondPer1000: med((w) => w.serverCoreSecondsPerSecondPer1000),
        viewersPerCoreAt100: Math.round(median(windows.map((w) => w.viewersPerCoreAt100))),
        viewersPerCoreAt80: Math.round(median(windows.map((w) => w.viewersPerCoreAt80))),
        mediasoupCorePercent: r1(med((w) => w.cpuCores.mediasoupWorkers) * 100),
        ffmpegCorePercent: r1(med((w) => w.cpuCores.ffmpeg) * 100),
        hlsEdgeCorePercent: r1(med((w) => w.cpuCores.hlsEdge) * 100),
        viewerProcessesCorePercent: r1(med((w) => w.cpuCores.viewerProcesses) * 100),
        benchProcessCorePercent: r1(med((w) => w.cpuCores.benchProcess) * 100),
        tickToAckP50Ms: med((w) => w.tickToAckMs.p50),
        tickToAckP99Ms: med((w) => w.tickToAckMs.p99),
        tickToAckMaxBucketMs: med((w) => w.tickToAckMs.maxBucket),
        serverLoopDelayP99Ms: med((w) => w.serverLoopDelayMs.p99),
        serverLoopDelayMaxMs: med((w) => w.serverLoopDelayMs.max),
        viewerProcessLoopDelayP99Ms: med((w) => w.viewerProcessLoopDelayMs.p99),
        viewerProcessLoopDelayMaxMs: med((w) => w.viewerProcessLoopDelayMs.max),
        tickIntervalP99Ms: med((w) => w.tickIntervalMs.p99),
        hlsFetchP99Ms: med((w) => w.hlsFetchMs.p99),
      },
      totals: {
        missed: windows.reduce((a, w) => a + w.missed, 0),
        duplicated: windows.reduce((a, w) => a + w.duplicated, 0),
        ackErrors: windows.reduce((a, w) => a + w.ackErrors, 0),
        vouchersInvalid: windows.reduce((a, w) => a + w.vouchersInvalid, 0),
        paymentRequired: windows.reduce((a, w) => a + w.paymentRequired, 0),
        hlsFetchesNot200: windows.reduce(
          (a, w) => a + Object.entries(w.hlsFetches).reduce((b, [k, n]) => b + (k === '200' ? 0 : n), 0),
          0,
        ),
      },
      windows,
    });
    if (saturated) {
      console.log(`level ${level}: saturated (fewer than ${SATURATED_BELOW * 100} % of the viewers tick each second)`);
      break;
    }
  }

  // ---- report ----
  console.log(`ledger ${database}:`);
  console.table(
    levels.map((l) => ({
      viewers: l.viewers,
      'ticks/s': l.median.ticksPerSecondServer,
      'server CPU %': l.median.serverCorePercent,
      'core-s/s per 1k': l.median.serverCoreSecondsPerSecondPer1000,
      'viewers/core @100%': l.median.viewersPerCoreAt100,
      'viewers/core @80%': l.median.viewersPerCoreAt80,
      'tick→ack p50 ms': l.median.tickToAckP50Ms,
      'p99 ms': l.median.tickToAckP99Ms,
      'max ≤ ms': l.median.tickToAckMaxBucketMs,
      'interval p99 ms': l.median.tickIntervalP99Ms,
      'HLS edge CPU %': l.median.hlsEdgeCorePercent,
      'client CPU %': l.median.viewerProcessesCorePercent,
      'missed/dup/ackErr': `${l.totals.missed}/${l.totals.duplicated}/${l.totals.ackErrors}`,
      saturated: l.saturated,
    })),
  );
  const atTarget = levels.find((l) => l.viewers === TARGET_LEVEL && !l.saturated);
  // CPU is divided by the ticks the server really sent, so saturated levels count too.
  const fit = costFit(levels.map((l) => [l.median.ticksPerSecondServer / 1000, l.median.serverCorePercent / 100]));
  console.log(
    `server CPU ≈ ${fit.fixedCores} core + ${fit.coreSecondsPerSecondPer1000} core per 1,000 ticking viewers ` +
      `→ ${fit.viewersPerCoreAt100} viewers at 100 % of a core, ${fit.viewersPerCoreAt80} at 80 %`,
  );
  await server.stop();
  await cleanup();
  const result = {
    database,
    date,
    loadAvgAtStart,
    loadAvgAtEnd: load(),
    code: codeState(SERVER_ENTRY),
    levels,
    costModel: {
      what: 'least-squares line through the levels’ medians (ticks the server sent, so saturated levels count too): server cores = fixed + marginal × ticking viewers / 1000; viewers per core = (share of the core − fixed) / marginal × 1000',
      ...fit,
    },
    targets: {
      viewersPerCore: {
        target: `≥ ${TARGET_VIEWERS_PER_CORE} ticking viewers per server core (extrapolated from CPU use, at 100 % of a core)`,
        value: fit.viewersPerCoreAt100,
        pass: fit.viewersPerCoreAt100 >= TARGET_VIEWERS_PER_CORE,
      },
      p99TickToAck: {
        target: `p99 tick→ack < ${TARGET_P99_MS} ms at ${TARGET_LEVEL} viewers`,
        reached: atTarget !== undefined,
        valueMs: atTarget?.median.tickToAckP99Ms ?? null,
        pass: (atTarget?.median.tickToAckP99Ms ?? Number.POSITIVE_INFINITY) < TARGET_P99_MS,
      },
    },
    ...(profiles.length > 0 ? { serverProfiles: profiles } : {}),
  };
  console.log(
    `ledger ${database}: ${fit.viewersPerCoreAt100} viewers/core (${result.targets.viewersPerCore.pass ? 'pass' : 'FAIL'}), ` +
      `p99 tick→ack at ${TARGET_LEVEL}: ${atTarget ? `${result.targets.p99TickToAck.valueMs} ms` : 'not reached'} (${result.targets.p99TickToAck.pass ? 'pass' : 'FAIL'})`,
  );
  return result;
}

async function main(): Promise<void> {
  await cryptoWaitReady();
  type Backend = Awaited<ReturnType<typeof runBackend>>;
  const earlier: Backend[] = [];
  if (MERGE && existsSync(RESULTS_FILE)) {
    const old = JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as { backends?: Backend[] };
    earlier.push(...(old.backends ?? []).filter((b) => !DATABASES.includes(b.database)));
  }
  const backends: Backend[] = [];
  const result = {
    name: 'signaling',
    machine: {
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      node: process.version,
      note: '2-core VM: the viewer processes, the chain and the publisher share the two cores with the server; loadAvgAtStart/loadAvgAtEnd and each window’s loadAvg tell what else ran',
    },
    method: {
      server:
        'signaling/src/bin/server.ts as its own process with SIGNALING_NODE_FLAGS (own process group, as npm start runs it): ledger in embedded PGlite on disk or in a scratch PostgreSQL database (DATABASE_URL), embedded Helia, 1 mediasoup worker, HLS relay (ffmpeg) fed by a wrtc publisher (320x240 VP8 500 kbps + Opus)',
      serverEnv:
        'AUTH_RATE_LIMIT_MAX and JOIN_RATE_LIMIT_MAX 1e6 (all from 127.0.0.1); SETTLE_EVERY_SECONDS and PAYMENT_GRACE_SECONDS 3600 (viewers do not settle on chain); FEE_RESERVE_PLANCK fixed (no fee estimation per join); everything else default (TICK_INTERVAL_MS 1000, VOUCHER_GRACE_SECONDS 3, HLS_SEGMENT_SECONDS 1)',
      chain:
        'chopsticks dev chain (startDevChain) in the bench process; wallets funded with dev_setStorage (System.Account), each session funded on chain by its wallet (one batchAll of transferKeepAlive + ps1:fund remark per wallet, as the dapp funds); the server checks the funding (the block named by fundedIn) and reads each session account’s balance at join',
      viewers: `${CLIENTS} forked processes (--max-semi-space-size=32), each with its HLS players on a worker thread of their own (tickingPlayers.ts, as a browser fetches off the page's main thread; fed the tokens the ticks carry); each viewer has its own socket.io-client websocket, ed25519 session key and delegation signed by its wallet (sr25519 wallets //PersecondBenchWallet<n> derived from the dev phrase's root pair, ${PER_WALLET} viewer(s) per wallet, one sign-in per wallet and process); ${RTC} WebRTC viewer(s) (wrtc) and the rest HLS: every ${FETCH_EVERY_MS} ms at a random phase each fetches the playlist with its token (renewed by a tick, or by hls:token after a 401) and then every segment it lists that this viewer has not fetched yet, one after the other, each read to its end (bytes counted, not kept; hlsSegmentsPerSecond and hlsMegabytesPerSecond per window), over node:http with one keep-alive agent per process (≤ 256 sockets to the edge, as a browser pools connections per origin); the HLS bitrate is the publisher's (the relay's ffmpeg has no bitrate setting in env); every tick acknowledged with a voucher sent as a notification (no ack callback; contracts-client formatVoucher, signed with Node's ed25519, checked equal to signVoucher)`,
      cpu: 'utime+stime from /proc/<pid>/stat over each window; server = the signaling Node process only (mediasoup workers, ffmpeg, the HLS edge child process and PostgreSQL backends reported apart)',
      perViewer:
        'core-seconds per second per 1,000 ticking viewers = server cores / (server ticks per second / 1000); viewers per core = ticks per second / server cores (at 80 %: × 0.8); costModel separates the fixed part (publisher, relay, idle server)',
      tickToAck:
        "server side (histogram signaling_tick_voucher_seconds, read from /metrics at both ends of a window; quantiles interpolated within buckets of 2.5–10 ms below 100 ms): from sending a `tick` to handling the voucher for it — the whole round trip: delivery, the viewer signing the voucher (Node ed25519) and sending it as a notification (no ack callback: the answer rides on the next tick), and the server's checks; tick interval = time between consecutive ticks of one viewer, seen by the client",
      windows: `viewers added level by level; at each level once all tick and after ${WARMUP_S} s warm-up, ${RUNS} windows of ${WINDOW_S} s; medians over the windows; a level where fewer than ${SATURATED_BELOW * 100} % of the viewers tick each second is saturated and ends the ramp`,
    },
    backends,
  };
  // Written after each backend, so that a failure later keeps what was measured.
  for (const database of DATABASES) {
    const measured = await runBackend(database);
    backends.splice(0, backends.length, ...earlier, ...backends.filter((b) => !earlier.includes(b)), measured);
    writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${RESULTS_FILE}`);
  }
}

/** Fixed and marginal server CPU from (thousands of ticking viewers, cores) points, and the viewers a core carries. */
function costFit(points: [number, number][]) {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const slope = n > 1 && sxx > 0 ? points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx : my / mx;
  const fixed = n > 1 && sxx > 0 ? my - slope * mx : 0;
  return {
    points: points.map(([x, y]) => ({ thousandViewers: r3(x), cores: r3(y) })),
    fixedCores: r3(fixed),
    coreSecondsPerSecondPer1000: r3(slope),
    viewersPerCoreAt100: Math.round(((1 - fixed) / slope) * 1000),
    viewersPerCoreAt80: Math.round(((0.8 - fixed) / slope) * 1000),
  };
}

try {
  await main();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
process.exit(process.exitCode ?? 0);
