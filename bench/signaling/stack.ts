// The stack the signaling benches measure (ticking.ts, chat.ts): a dev chain (chopsticks, in the bench process), the
// real signaling server (signaling/src/bin/server.ts, its own process group, as `npm start` runs it) and a live stream
// whose creator publishes over WebRTC (wrtc, in the bench process); forked client processes driven over IPC; funding
// of viewer sessions on chain; the server's /metrics counters; cleanup on exit or signal.
import { type ChildProcess, execFileSync, fork, type Serializable } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
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
import pg from 'pg';
import type { Socket } from 'socket.io-client';
import { Service } from '../../scripts/start/Service.ts';
import { SIGNALING_NODE_FLAGS } from '../../signaling/src/bin/nodeFlags.ts';
import { openSocket, request, signIn } from '../../signaling/test/support/clients.ts';
import { processGroup } from './procCpu.ts';
import type { FromViewers, ToViewers, ViewerSpec } from './tickingProtocol.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');

export const PRICE = 1_000_000n;
export const BUDGET = 10n ** 15n;
/** What each session account holds: far more than the prepay (30 s × price) and the fixed fee reserve. */
export const SESSION_FUNDS = 10n ** 15n;
export const FEE_RESERVE = 10n ** 11n;

/** Command-line flags (`--name`) and options (`--name=value`) of a bench script. */
export function benchArgs(argv = process.argv.slice(2)) {
  return {
    flag: (name: string) => argv.includes(`--${name}`),
    opt: (name: string, def: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def,
  };
}

export const quantile = (sorted: number[], q: number) =>
  sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
export const r1 = (x: number) => Math.round(x * 10) / 10;
export const r2 = (x: number) => Math.round(x * 100) / 100;
export const r3 = (x: number) => Math.round(x * 1000) / 1000;
export const load = () => loadavg().map(r2);
export const distribution = (xs: number[]) => {
  const s = Float64Array.from(xs).sort();
  const sorted = Array.from(s);
  return {
    n: sorted.length,
    p50: r2(quantile(sorted, 0.5)),
    p99: r2(quantile(sorted, 0.99)),
    max: r2(sorted.at(-1) ?? Number.NaN),
  };
};

/** A forked bench client process (driven over IPC) and its replies, awaited by type. */
export class ClientProcess<To extends Serializable, From extends { type: string; message?: string }> {
  readonly child: ChildProcess;
  readonly #waiting = new Map<string, ((m: From) => void)[]>();
  readonly #queued = new Map<string, From[]>();
  #failure: Error | undefined;
  readonly #onFailure: ((err: Error) => void)[] = [];

  constructor(
    script: string,
    readonly index: number,
  ) {
    this.child = fork(join(here, script), [], {
      // Young-generation room as the server has: fewer full collections holding a process's 500 sockets.
      execArgv: ['--max-semi-space-size=32', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: From) => {
      if (m.type === 'error') return this.#fail(new Error(`${script} process ${index}: ${m.message}`));
      const w = this.#waiting.get(m.type)?.shift();
      if (w) w(m);
      else this.#queued.set(m.type, [...(this.#queued.get(m.type) ?? []), m]);
    });
    this.child.once('exit', (code) => this.#fail(new Error(`${script} process ${index} exited (${code})`)));
    this.child.on('error', (err) => this.#fail(err));
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const f of this.#onFailure.splice(0)) f(err);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  send(m: To): void {
    if (this.child.connected) this.child.send(m);
  }

  /** The next reply of a type (queued ones first); rejects when the process fails or exits. */
  next<T extends From['type']>(type: T, timeoutMs = 600_000): Promise<Extract<From, { type: T }>> {
    const queued = this.#queued.get(type)?.shift();
    if (queued) return Promise.resolve(queued as Extract<From, { type: T }>);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`client process ${this.index}: no ${type} reply`)), timeoutMs);
      this.#onFailure.push((err) => {
        clearTimeout(timer);
        reject(err);
      });
      this.#waiting.set(type, [
        ...(this.#waiting.get(type) ?? []),
        (m) => {
          clearTimeout(timer);
          resolve(m as Extract<From, { type: T }>);
        },
      ]);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    try {
      this.send({ type: 'close' } as To);
    } catch {
      // the channel is already gone
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

export const cleanups: (() => Promise<unknown> | unknown)[] = [];
let cleaning: Promise<void> | undefined;
export const cleanup = () => {
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
export async function fundSessions(
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
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The bench wallet `//PersecondBenchWallet<n>`, derived as the viewer processes derive it. */
const benchWalletRing = new Keyring({ type: 'sr25519', ss58Format: 42 });
let benchRoot: KeyringPair | undefined;
export function benchWallet(uri: string): KeyringPair {
  benchRoot ??= benchWalletRing.addFromUri(DEV_PHRASE);
  return benchRoot.derive(uri);
}

/** A cumulative histogram as /metrics shows it: upper bounds (s, ascending, the last +Inf) and counts up to each. */
export interface Buckets {
  le: number[];
  counts: number[];
}

/** The server's `signaling_tick_voucher_seconds` buckets. */
export function tickVoucherBuckets(text: string): Buckets {
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
export function bucketDistribution(b0: Buckets, b1: Buckets) {
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
export async function serverCounters(url: string): Promise<{
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

/** A scratch PostgreSQL database for the ledger, dropped by `drop()`; `backendPids()` are its connections. */
export async function scratchPostgres(baseUrl: string) {
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

/** Which code was measured: the commit, whether signaling/ had uncommitted changes, and the server entry. */
export function codeState(serverEntry: string) {
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
    serverEntry,
  };
}

/** What `startStack` is given: the ledger backend, the server build and flags, more server environment. */
export interface StackOptions {
  database: 'pglite' | 'postgres';
  serverEntry: string;
  /** Node flags after SIGNALING_NODE_FLAGS (e.g. `--inspect=…`). */
  serverNodeArgs: string[];
  /** Server environment over the bench's settings (e.g. chat limits). */
  serverEnv?: Record<string, string>;
  title: string;
}

/**
 * Starts the dev chain, the signaling server and a live stream published by //Alice over WebRTC; everything is
 * stopped by `cleanup()`. Server settings every signaling bench needs: sign-in and join rate limits raised (all from
 * 127.0.0.1), the settlement window at its maximum (viewers do not settle on chain), a fixed fee reserve.
 */
export async function startStack(opts: StackOptions) {
  const dataDir = mkdtempSync(join(tmpdir(), 'persecond-signaling-bench-'));
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

  const postgres = opts.database === 'postgres' ? await scratchPostgres(process.env.DATABASE_URL ?? '') : undefined;
  if (postgres) cleanups.push(() => postgres.drop());
  const server = new Service({
    name: 'signaling',
    command: process.execPath,
    args: [...SIGNALING_NODE_FLAGS, ...opts.serverNodeArgs, '--import', 'tsx', opts.serverEntry],
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
      ...opts.serverEnv,
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

  // The creator: signs in, creates and announces the stream, goes live and publishes.
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const alice = keyring.addFromUri('//Alice');
  const aliceToken = await signIn(url, alice);
  const created = await request(`${url}/v1/streams`, {
    token: aliceToken,
    body: { title: opts.title, pricePerSecond: PRICE.toString(), asset: 'native' },
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
  return { dataDir, chain, client, submitter, devRpc, postgres, server, url, serverPid, streamId };
}

/** A started stack. */
export type Stack = Awaited<ReturnType<typeof startStack>>;

/** New viewer specs `from`…`from + count − 1`: `perWallet` per bench wallet, the first `rtc` of all over WebRTC. */
export function viewerSpecs(from: number, count: number, perWallet: number, rtc: number): ViewerSpec[] {
  return Array.from({ length: count }, (_, k) => {
    const g = from + k;
    const seed = randomBytes(32);
    return {
      walletUri: `//PersecondBenchWallet${Math.floor(g / perWallet)}`,
      seed: seed.toString('hex'),
      sessionId: sessionIdOf(createSessionKey(42, seed).address),
      mode: g < rtc ? 'webrtc' : 'hls',
    };
  });
}

/** A forked viewer process of tickingViewers.ts. */
export type ViewerProcess = ClientProcess<ToViewers, FromViewers>;

/** Forks `count` viewer processes (closed by `cleanup()`) and initializes them for the stack's stream. */
export async function startViewerProcesses(
  stack: Stack,
  count: number,
  fetchEveryMs: number,
  profileDir?: string,
): Promise<ViewerProcess[]> {
  const procs = Array.from(
    { length: count },
    (_, i) => new ClientProcess<ToViewers, FromViewers>('tickingViewers.ts', i),
  );
  cleanups.push(() => Promise.all(procs.map((p) => p.close())));
  await Promise.all(procs.map((p) => p.next('ready', 300_000)));
  for (const p of procs) {
    p.send({
      type: 'init',
      url: stack.url,
      streamId: stack.streamId,
      genesisHash: stack.client.facts.genesisHash,
      budget: BUDGET.toString(),
      fetchEveryMs,
      ...(profileDir ? { profileDir } : {}),
    });
  }
  await Promise.all(procs.map((p) => p.next('initialized', 300_000)));
  return procs;
}

/**
 * Funds the sessions of `specs` (viewers `first`… in order) and has the viewer processes join them, a wallet's
 * viewers in one process; the count admitted, refusals by code and the time each step took.
 */
export async function addViewers(
  stack: Stack,
  procs: ViewerProcess[],
  first: number,
  specs: ViewerSpec[],
  perWallet: number,
) {
  const tFund = performance.now();
  await fundSessions(stack.devRpc, stack.client, stack.submitter, specs);
  const fundMs = performance.now() - tFund;
  const perProc = procs.map(() => [] as ViewerSpec[]);
  for (const [i, s] of specs.entries()) perProc[Math.floor((first + i) / perWallet) % procs.length]?.push(s);
  for (const [i, p] of procs.entries()) p.send({ type: 'join', viewers: perProc[i] ?? [], concurrency: 16 });
  const joined = await Promise.all(procs.map((p) => p.next('joined')));
  const joinFailures: Record<string, number> = {};
  for (const j of joined)
    for (const [code, n] of Object.entries(j.failed)) joinFailures[code] = (joinFailures[code] ?? 0) + n;
  return {
    ok: joined.reduce((a, j) => a + j.ok, 0),
    joinFailures,
    fundMs: Math.round(fundMs),
    joinMs: Math.round(Math.max(...joined.map((j) => j.ms))),
  };
}

/** Waits (at most a minute) until `admitted` viewers tick; how many do, after how long, and the processes' status. */
export async function waitTicking(procs: ViewerProcess[], admitted: number) {
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
  return {
    ticking,
    waitedMs: Math.round(performance.now() - tWait),
    neverTicked: status.reduce((a, st) => a + st.neverTicked, 0),
    neverTickedFetches: status.flatMap((st) => st.neverTickedFetches),
    firstTick: distribution(status.flatMap((st) => st.firstTickAfterMs)),
  };
}
