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
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  type ChainClient,
  connect,
  createSessionKey,
  type DevChain,
  formatRemark,
  sessionIdOf,
  startDevChain,
  TxSubmitter,
} from '@persecond/contracts-client';
import { WsProvider } from '@polkadot/api';
import { DEV_PHRASE, Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { hexToU8a } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import pg from 'pg';
import type { Socket } from 'socket.io-client';
import { freePort } from '../../scripts/start/freePort.ts';
import { Service } from '../../scripts/start/Service.ts';
import { SIGNALING_NODE_FLAGS } from '../../signaling/src/bin/nodeFlags.ts';
import { openSocket, request, signIn } from '../../signaling/test/support/clients.ts';
import { median } from '../stats.ts';
import { longTasks, summarizeCpuProfile } from './cpuProfile.ts';
import { type ProcStat, processGroup, procStat, rssMegabytes } from './procCpu.ts';
import type { FromViewers, ToViewers, ViewerSpec, WindowStats } from './tickingProtocol.ts';
import { WindowProfiler } from './windowProfiler.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const opt = (name: string, def: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def;
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
const PRICE = 1_000_000n;
const BUDGET = 10n ** 15n;
/** What each session account holds: far more than the prepay (30 s × price) and the fixed fee reserve. */
const SESSION_FUNDS = 10n ** 15n;
const FEE_RESERVE = 10n ** 11n;
const TARGET_VIEWERS_PER_CORE = 10_000;
const TARGET_P99_MS = 50;
const TARGET_LEVEL = 2_000;

const quantile = (sorted: number[], q: number) =>
  sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const load = () => loadavg().map(r2);
const distribution = (xs: number[]) => {
  const s = Float64Array.from(xs).sort();
  const sorted = Array.from(s);
  return {
    n: sorted.length,
    p50: r2(quantile(sorted, 0.5)),
    p99: r2(quantile(sorted, 0.99)),
    max: r2(sorted.at(-1) ?? Number.NaN),
  };
};

// ---- viewer processes ----

/** A forked viewer process and its replies, awaited by type. */
class ViewerProcess {
  readonly child: ChildProcess;
  readonly #waiting = new Map<string, ((m: FromViewers) => void)[]>();
  readonly #queued = new Map<string, FromViewers[]>();
  #failure: Error | undefined;
  readonly #onFailure: ((err: Error) => void)[] = [];

  constructor(readonly index: number) {
    this.child = fork(join(here, 'tickingViewers.ts'), [], {
      // Young-generation room as the server has: fewer full collections holding a process's 500 sockets.
      execArgv: ['--max-semi-space-size=32', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: FromViewers) => {
      if (m.type === 'error') return this.#fail(new Error(`viewer process ${index}: ${m.message}`));
      const w = this.#waiting.get(m.type)?.shift();
      if (w) w(m);
      else this.#queued.set(m.type, [...(this.#queued.get(m.type) ?? []), m]);
    });
    this.child.once('exit', (code) => this.#fail(new Error(`viewer process ${index} exited (${code})`)));
    this.child.on('error', (err) => this.#fail(err));
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const f of this.#onFailure.splice(0)) f(err);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  send(m: ToViewers): void {
    if (this.child.connected) this.child.send(m);
  }

  /** The next reply of a type (queued ones first); rejects when the process fails or exits. */
  next<T extends FromViewers['type']>(type: T, timeoutMs = 600_000): Promise<Extract<FromViewers, { type: T }>> {
    const queued = this.#queued.get(type)?.shift();
    if (queued) return Promise.resolve(queued as Extract<FromViewers, { type: T }>);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`viewer process ${this.index}: no ${type} reply`)), timeoutMs);
      this.#onFailure.push((err) => {
        clearTimeout(timer);
        reject(err);
      });
      this.#waiting.set(type, [
        ...(this.#waiting.get(type) ?? []),
        (m) => {
          clearTimeout(timer);
          resolve(m as Extract<FromViewers, { type: T }>);
        },
      ]);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    try {
      this.send({ type: 'close' });
    } catch {
      // the channel is already gone
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

// ---- the stack ----

const cleanups: (() => Promise<unknown> | unknown)[] = [];
let cleaning: Promise<void> | undefined;
const cleanup = () => {
  cleaning ??= (async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error('cleanup:', (err as Error).message);
      }
    }
    cleaning = undefined;
  })();
  return cleaning;
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping the chain, the server and the viewer processes`);
    void cleanup().then(() => process.exit(130));
  });
}

/**
 * Funds each viewer's session on chain as the dapp does: its wallet transfers the budget to the session account with
 * the `ps1:fund:<sessionId>` remark (admission checks that funding). Wallets get native funds in storage
 * (chopsticks dev_setStorage), then each signs one batchAll of [transfer, remark] for all its sessions; each spec learns
 * the block its funding landed in (`fundedIn`).
 */
async function fundSessions(
  chain: WsProvider,
  client: ChainClient,
  submitter: TxSubmitter,
  specs: ViewerSpec[],
): Promise<void> {
  const byWallet = new Map<string, ViewerSpec[]>();
  for (const s of specs) byWallet.set(s.walletUri, [...(byWallet.get(s.walletUri) ?? []), s]);
  const wallets = [...byWallet.keys()].map((uri) => [uri, benchWallet(uri)] as const);
  for (let i = 0; i < wallets.length; i += 500) {
    const account = wallets
      .slice(i, i + 500)
      .map(([uri, w]) => [
        [w.address],
        { providers: 1, data: { free: (SESSION_FUNDS * BigInt((byWallet.get(uri) ?? []).length + 1)).toString() } },
      ]);
    await chain.send('dev_setStorage', [{ System: { Account: account } }]);
  }
  const { api } = client;
  await mapLimit(wallets, 8, async ([uri, wallet]) => {
    const mine = byWallet.get(uri) ?? [];
    const calls = mine.flatMap((s) => [
      api.tx.balances.transferKeepAlive(createSessionKey(42, hexToU8a(`0x${s.seed}`)).address, SESSION_FUNDS),
      api.tx.system.remarkWithEvent(formatRemark({ kind: 'fund', sessionId: s.sessionId })),
    ]);
    const res = await submitter.submit(api.tx.utility.batchAll(calls), wallet);
    if (!res.ok) throw new Error(`funding by ${uri} failed: ${res.status}`);
    for (const s of mine) s.fundedIn = res.blockHash;
  });
}

/** Runs `fn` over `items` with at most `limit` at once. */
async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The bench wallet `//PersecondBenchWallet<n>`, derived as the viewer processes derive it. */
const benchWalletRing = new Keyring({ type: 'sr25519', ss58Format: 42 });
let benchRoot: KeyringPair | undefined;
function benchWallet(uri: string): KeyringPair {
  benchRoot ??= benchWalletRing.addFromUri(DEV_PHRASE);
  return benchRoot.derive(uri);
}

/** A cumulative histogram as /metrics shows it: upper bounds (s, ascending, the last +Inf) and counts up to each. */
interface Buckets {
  le: number[];
  counts: number[];
}

/** The server's `signaling_tick_voucher_seconds` buckets. */
function tickVoucherBuckets(text: string): Buckets {
  const le: number[] = [];
  const counts: number[] = [];
  for (const m of text.matchAll(/^signaling_tick_voucher_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)) {
    le.push(m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]));
    counts.push(Number(m[2]));
  }
  return { le, counts };
}

/**
 * Quantiles (ms) of the observations between two readings of a histogram, interpolated linearly inside the bucket
 * (as Prometheus' histogram_quantile does); `maxBucket` is the upper bound of the highest bucket observed.
 */
function bucketDistribution(b0: Buckets, b1: Buckets) {
  const counts = b1.counts.map((c, i) => c - (b0.counts[i] ?? 0));
  const n = counts.at(-1) ?? 0;
  const at = (q: number) => {
    if (n === 0) return Number.NaN;
    const rank = q * n;
    for (let i = 0; i < counts.length; i++) {
      if ((counts[i] as number) < rank) continue;
      const hi = b1.le[i] as number;
      const lo = i === 0 ? 0 : (b1.le[i - 1] as number);
      if (!Number.isFinite(hi)) return lo * 1000;
      const below = i === 0 ? 0 : (counts[i - 1] as number);
      const inside = (counts[i] as number) - below;
      return (lo + ((hi - lo) * (rank - below)) / Math.max(1, inside)) * 1000;
    }
    return Number.NaN;
  };
  const top = counts.indexOf(n);
  return { n, p50: r2(at(0.5)), p99: r2(at(0.99)), maxBucket: r2((b1.le[top] ?? Number.NaN) * 1000) };
}

/** The server's counters from /metrics. */
async function serverCounters(url: string): Promise<{
  ticks: number;
  vouchersReceived: number;
  vouchersVerified: number;
  vouchersInvalid: number;
  tickVoucher: Buckets;
  /** The server's event-loop delay since the previous /metrics read (prom-client resets it on each read), ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  return {
    tickVoucher: tickVoucherBuckets(text),
    loopDelayP99Ms: r2(Number(/^signaling_nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text)?.[1]) * 1000),
    loopDelayMaxMs: r2(Number(/^signaling_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)?.[1]) * 1000),
    ticks: num(/^signaling_ticks_total (\d+)$/m),
    // Every voucher passing the cheap checks is `received`; signatures are verified per session in rounds (`valid`).
    vouchersReceived: num(/^signaling_vouchers_total\{outcome="received"\} (\d+)$/m),
    vouchersVerified: num(/^signaling_vouchers_total\{outcome="valid"\} (\d+)$/m),
    vouchersInvalid: num(/^signaling_vouchers_total\{outcome="invalid"\} (\d+)$/m),
  };
}

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

/** A scratch PostgreSQL database for the ledger, dropped by `drop()`; `backendPids()` are its connections. */
async function scratchPostgres(baseUrl: string) {
  const name = `persecond_ticking_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async backendPids(): Promise<number[]> {
      const res = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [name]);
      return res.rows.map((r) => r.pid);
    },
    async drop() {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

/** One ledger backend: the whole stack started, the levels measured, everything stopped. */
async function runBackend(database: 'pglite' | 'postgres') {
  console.log(`\n== ledger: ${database} ==`);
  const date = new Date().toISOString();
  const loadAvgAtStart = load();
  const dataDir = mkdtempSync(join(tmpdir(), 'persecond-ticking-bench-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));

  const chain: DevChain = await startDevChain();
  cleanups.push(() => chain.close());
  const client = await connect(chain.wsUrl);
  cleanups.push(() => client.close());
  const submitter = new TxSubmitter(client.api);
  // dev_* calls are chopsticks' own RPC methods, outside the api's decorated ones.
  const devRpc = new WsProvider(chain.wsUrl);
  cleanups.push(() => devRpc.disconnect());
  await devRpc.isReady;

  const profileDir = join(dataDir, 'profile');
  const postgres = database === 'postgres' ? await scratchPostgres(process.env.DATABASE_URL ?? '') : undefined;
  if (postgres) cleanups.push(() => postgres.drop());
  const inspectPort = PROFILE ? await freePort() : 0;
  const server = new Service({
    name: 'signaling',
    command: process.execPath,
    args: [
      ...SIGNALING_NODE_FLAGS,
      ...SERVER_NODE_ARGS,
      ...(PROFILE ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
      '--import',
      'tsx',
      SERVER_ENTRY,
    ],
    cwd: root,
    env: {
      ...process.env,
      FORCE_COLOR: '0',
      PORT: '0',
      LOG_LEVEL: 'warn',
      CHAIN_WS_URL: chain.wsUrl,
      IPFS_DIR: join(dataDir, 'ipfs'),
      SIGNALING_DATA_DIR: join(dataDir, 'signaling'),
      DATABASE_URL: postgres?.url ?? '',
      HLS_DIR: join(dataDir, 'hls'),
      SESSION_SECRET: randomUUID() + randomUUID(),
      // One worker carries the publisher and the few WebRTC viewers; the rest watch over HLS.
      SFU_NUM_WORKERS: '1',
      // Every sign-in and join comes from 127.0.0.1 and a few wallets.
      AUTH_RATE_LIMIT_MAX: '1000000',
      JOIN_RATE_LIMIT_MAX: '1000000',
      // Viewers acknowledge every tick but do not settle on chain (thousands of settlements would measure the
      // chain): the settlement window is set to its maximum so that no viewer is paused for settlement lag.
      SETTLE_EVERY_SECONDS: '3600',
      PAYMENT_GRACE_SECONDS: '3600',
      // A fixed fee reserve: a join then reads the balance on chain but does not run two fee estimations.
      FEE_RESERVE_PLANCK: FEE_RESERVE.toString(),
    },
    readyLine: true,
  });
  cleanups.push(() => server.stop());
  const ready = (await server.ready) as { url: string };
  const url = ready.url;
  // The guard leads the process group; the server is its child, mediasoup workers and ffmpeg are the server's.
  const serverPid = processGroup(server.pid).find((p) => p.ppid === server.pid && p.comm.startsWith('node'))?.pid;
  if (!serverPid) throw new Error('could not find the signaling server process');
  console.log(`signaling ${url} (pid ${serverPid}), chain ${chain.wsUrl}`);
  const profiler = PROFILE ? new WindowProfiler(inspectPort) : undefined;
  if (profiler) {
    await profiler.connect();
    mkdirSync(profileDir, { recursive: true });
    cleanups.push(() => profiler.close());
  }
  const profiles: {
    viewers: number;
    run: number;
    top: ReturnType<typeof summarizeCpuProfile>;
    longTasks: ReturnType<typeof longTasks>;
  }[] = [];

  // The creator: signs in, creates and announces the stream, goes live and publishes.
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const alice = keyring.addFromUri('//Alice');
  const aliceToken = await signIn(url, alice);
  const created = await request(`${url}/v1/streams`, {
    token: aliceToken,
    body: { title: 'Ticking bench', pricePerSecond: PRICE.toString(), asset: 'native' },
  });
  if (!created.body.ok) throw new Error(`stream creation refused: ${created.body.code}`);
  const streamId = created.body.streamId as string;
  const callData = (created.body.announcement as { callData: string }).callData;
  const announced = await submitter.submit(client.api.tx(client.api.createType('Call', callData)), alice);
  if (!announced.ok) throw new Error('the announcement failed on chain');
  for (let i = 0; ; i++) {
    const res = await request(`${url}/v1/streams/${streamId}`);
    if ((res.body.stream as { status?: string } | undefined)?.status === 'announced') break;
    if (i > 300) throw new Error('the announcement was not seen by the server');
    await sleep(100);
  }
  const creator: Socket = await openSocket(url, aliceToken);
  cleanups.push(() => creator.close());
  const { callOk, startPublisher } = await import('../../signaling/test/viewers-support.ts');
  await callOk(creator, 'stream:goLive', { streamId });
  const publisher = await startPublisher(creator, streamId);
  cleanups.push(() => publisher.close());

  if (PROFILE_CLIENTS) mkdirSync(CLIENT_PROFILE_DIR, { recursive: true });
  const procs = Array.from({ length: CLIENTS }, (_, i) => new ViewerProcess(i));
  cleanups.push(async () => {
    await Promise.all(procs.map((p) => p.close()));
    if (!PROFILE_CLIENTS) return;
    for (const f of readdirSync(CLIENT_PROFILE_DIR).filter((n) => n.endsWith('.cpuprofile'))) {
      const file = join(CLIENT_PROFILE_DIR, f);
      console.log(`viewer profile ${file}:`, JSON.stringify(summarizeCpuProfile(file, 30)));
    }
  });
  await Promise.all(procs.map((p) => p.next('ready', 300_000)));
  for (const p of procs) {
    p.send({
      type: 'init',
      url,
      streamId,
      genesisHash: client.facts.genesisHash,
      budget: BUDGET.toString(),
      fetchEveryMs: FETCH_EVERY_MS,
      ...(PROFILE_CLIENTS ? { profileDir: CLIENT_PROFILE_DIR } : {}),
    });
  }
  await Promise.all(procs.map((p) => p.next('initialized', 300_000)));

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
    const specs: ViewerSpec[] = [];
    for (let k = admitted; k < level; k++) {
      const g = nextViewer++;
      const seed = randomBytes(32);
      specs.push({
        walletUri: `//PersecondBenchWallet${Math.floor(g / PER_WALLET)}`,
        seed: seed.toString('hex'),
        sessionId: sessionIdOf(createSessionKey(42, seed).address),
        mode: g < RTC ? 'webrtc' : 'hls',
      });
    }
    const tFund = performance.now();
    await fundSessions(devRpc, client, submitter, specs);
    const fundMs = performance.now() - tFund;
    const perProc = procs.map(() => [] as ViewerSpec[]);
    for (const [i, s] of specs.entries())
      perProc[Math.floor((nextViewer - specs.length + i) / PER_WALLET) % CLIENTS]?.push(s);
    for (const [i, p] of procs.entries()) p.send({ type: 'join', viewers: perProc[i] ?? [], concurrency: 16 });
    const joined = await Promise.all(procs.map((p) => p.next('joined')));
    const joinFailures: Record<string, number> = {};
    for (const j of joined)
      for (const [code, n] of Object.entries(j.failed)) joinFailures[code] = (joinFailures[code] ?? 0) + n;
    admitted += joined.reduce((a, j) => a + j.ok, 0);
    const joinMs = Math.max(...joined.map((j) => j.ms));
    console.log(
      `level ${level}: ${admitted} admitted (funding ${Math.round(fundMs)} ms, joins ${Math.round(joinMs)} ms)` +
        (Object.keys(joinFailures).length ? `, refused ${JSON.stringify(joinFailures)}` : ''),
    );

    // ---- wait until every admitted viewer ticks ----
    const tWait = performance.now();
    let ticking = 0;
    while (performance.now() - tWait < 60_000) {
      for (const p of procs) p.send({ type: 'status' });
      const st = await Promise.all(procs.map((p) => p.next('status')));
      ticking = st.reduce((a, s) => a + s.ticking, 0);
      if (ticking >= admitted) break;
      await sleep(1_000);
    }
    for (const p of procs) p.send({ type: 'status' });
    const status = await Promise.all(procs.map((p) => p.next('status')));
    const neverTicked = status.reduce((a, st) => a + st.neverTicked, 0);
    const firstTick = distribution(status.flatMap((st) => st.firstTickAfterMs));
    console.log(
      `level ${level}: ${ticking}/${admitted} ticking after ${Math.round(performance.now() - tWait)} ms; ` +
        `admission→first tick p50 ${firstTick.p50} p99 ${firstTick.p99} ms` +
        (neverTicked
          ? `; ${neverTicked} never ticked, e.g. HLS fetches ${JSON.stringify(status.flatMap((st) => st.neverTickedFetches).slice(0, 4))}`
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
      fundMs: Math.round(fundMs),
      joinMs: Math.round(joinMs),
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
    code: codeState(),
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

/** Which code was measured: the commit, whether signaling/ had uncommitted changes, and the server entry. */
function codeState() {
  const git = (...a: string[]) => {
    try {
      return execFileSync('git', a, { cwd: root }).toString().trim();
    } catch {
      return undefined;
    }
  };
  return {
    commit: git('rev-parse', 'HEAD'),
    uncommittedInSignaling: (git('status', '--porcelain', '--', 'signaling') ?? '').split('\n').filter(Boolean).length,
    serverEntry: SERVER_ENTRY,
  };
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
