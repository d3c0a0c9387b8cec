// A viewer process of the ticking bench (forked by bench/signaling/ticking.ts, driven over IPC): signs wallets in,
// joins viewers with their own ed25519 session keys and wallet-signed delegations, and acknowledges every tick with a
// voucher signed by the session key. Their HLS players run on a worker thread (tickingPlayers.ts), fed the viewer's
// (renewed) token from here.
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import {
  createSessionKey,
  formatDelegation,
  formatVoucher,
  signJoinProof,
  signVoucher,
} from '@persecond/contracts-client';
import { DEV_PHRASE, Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { hexToU8a, stringToU8a, u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { io, type Socket } from 'socket.io-client';
import { signIn } from '../../signaling/test/support/clients.ts';
import type {
  FromPlayers,
  FromViewers,
  PlayerStats,
  ToPlayers,
  ToViewers,
  ViewerSpec,
  WindowStats,
} from './tickingProtocol.ts';

type Init = Extract<ToViewers, { type: 'init' }>;
interface Ack {
  ok: boolean;
  code?: string;
  acknowledged?: string;
  hlsToken?: string;
  playlistUrl?: string;
  token?: string;
  session?: { seq: number };
}

const send = (m: FromViewers) => process.send?.(m);
// PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows.
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');

let init: Init;
const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
const tokens = new Map<string, Promise<string>>();
const wallets = new Map<string, KeyringPair>();
let devRoot: KeyringPair | undefined;
/**
 * The wallet of a keyring URI (`//Name`): derived from the dev phrase's root pair, which is made once (each
 * `addFromUri` runs the phrase's PBKDF2 again, ~6× the cost of the derivation; the address is the same).
 */
const walletOf = (uri: string): KeyringPair => {
  let pair = wallets.get(uri);
  if (!pair) {
    devRoot ??= keyring.addFromUri(DEV_PHRASE);
    pair = devRoot.derive(uri);
    wallets.set(uri, pair);
  }
  return pair;
};
const viewers: BenchViewer[] = [];
const bySession = new Map<string, BenchViewer>();
let players: Worker | undefined;
const toPlayers = (m: ToPlayers) => players?.postMessage(m);
/** Answers awaited from the players, by type (one at a time each). */
const awaiting = new Map<string, (m: FromPlayers) => void>();
const askPlayers = <T extends FromPlayers['type']>(
  m: ToPlayers,
  answer: T,
): Promise<Extract<FromPlayers, { type: T }>> =>
  new Promise((resolve) => {
    awaiting.set(answer, resolve as (m: FromPlayers) => void);
    toPlayers(m);
  });

/** Starts the players' worker thread (TypeScript through tsx, registered inside the worker). */
function startPlayers(fetchEveryMs: number): void {
  const entry = new URL('./tickingPlayers.ts', import.meta.url).href;
  players = new Worker(
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`,
    { eval: true, workerData: { fetchEveryMs } },
  );
  players.on('error', (err) => send({ type: 'error', message: `players: ${err.stack ?? err.message}` }));
  players.on('message', (m: FromPlayers) => {
    if (m.type === 'need-token') {
      const v = bySession.get(m.id);
      if (v) void v.renewToken();
      return;
    }
    const waiter = awaiting.get(m.type);
    awaiting.delete(m.type);
    waiter?.(m);
  });
}
let stats = emptyStats();
let recording = false;
/** This process's event-loop delay over a window: a busy or paused viewer process delays its vouchers too. */
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();

function emptyStats(): WindowStats {
  return {
    viewers: { hls: 0, webrtc: 0 },
    ticks: 0,
    missed: 0,
    duplicated: 0,
    loopDelayMs: { p99: 0, max: 0 },
    vouchersSent: 0,
    refused: 0,
    refusedCodes: {},
    tickIntervalMs: [],
    paymentRequired: 0,
    fetchStatuses: {},
    fetchMs: [],
    segments: 0,
    segmentBytes: 0,
  };
}

const bump = (rec: Record<string, number>, key: string) => {
  rec[key] = (rec[key] ?? 0) + 1;
};

/** Emits a request and resolves with its ack. */
function call(socket: Socket, event: string, payload: unknown): Promise<Ack> {
  return new Promise((resolve) => socket.emit(event, payload, resolve));
}

/** The wallet's session token; one sign-in per wallet, shared by all its viewers. */
function tokenOf(uri: string): Promise<string> {
  let t = tokens.get(uri);
  if (!t) {
    t = signIn(init.url, walletOf(uri));
    tokens.set(uri, t);
  }
  return t;
}

/** A signed-in socket of its own (no multiplexing, no reconnection). */
async function openSocket(token: string): Promise<Socket> {
  const socket = io(init.url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 60_000,
    auth: { token },
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

class BenchViewer {
  readonly #key: KeyObject;
  #lastSeq = 0;
  #lastTickAt: number | undefined;
  #rtc: { close(): void } | undefined;
  /** Ticks since the join (to tell viewers that never tick). */
  ticksTotal = 0;
  firstTickAfterMs: number | undefined;
  #joinedAt = 0;

  constructor(
    readonly spec: ViewerSpec,
    readonly socket: Socket,
  ) {
    this.#key = createPrivateKey({
      key: Buffer.concat([ED25519_PKCS8, Buffer.from(spec.seed, 'hex')]),
      format: 'der',
      type: 'pkcs8',
    });
    socket.on('tick', (t: { seq: number; owed: string; hlsToken?: string }) => this.#onTick(t));
    socket.on('tick:refused', (r: { code: string }) => {
      if (!recording) return;
      stats.refused++;
      bump(stats.refusedCodes, r.code);
    });
    socket.on('payment:required', () => {
      stats.paymentRequired++;
    });
  }

  /** Seconds since the last tick (Infinity before the first). */
  get sinceLastTickMs(): number {
    return this.#lastTickAt === undefined ? Number.POSITIVE_INFINITY : performance.now() - this.#lastTickAt;
  }

  /** The voucher of a tick signed with Node's ed25519 (same bytes as contracts-client `signVoucher`, faster). */
  voucher(seq: number, owed: string): string {
    const message = formatVoucher({
      genesisHash: init.genesisHash,
      streamId: init.streamId,
      sessionId: this.spec.sessionId,
      seq,
      owed: BigInt(owed),
    });
    return `0x${sign(null, Buffer.from(message), this.#key).toString('hex')}`;
  }

  async join(): Promise<Ack> {
    const key = createSessionKey(42, hexToU8a(`0x${this.spec.seed}`));
    const wallet = walletOf(this.spec.walletUri);
    const message = formatDelegation({
      genesisHash: init.genesisHash,
      streamId: init.streamId,
      sessionId: this.spec.sessionId,
      sessionAccount: key.address,
      asset: 'native',
      budget: BigInt(init.budget),
    });
    const session = {
      sessionId: this.spec.sessionId,
      sessionKey: u8aToHex(key.publicKey),
      budget: init.budget,
      delegation: { message, signature: u8aToHex(wallet.sign(u8aWrapBytes(stringToU8a(message)))) },
      proof: signJoinProof(key, {
        genesisHash: init.genesisHash,
        streamId: init.streamId,
        sessionId: this.spec.sessionId,
        socketId: this.socket.id ?? '',
      }),
      ...(this.spec.fundedIn ? { fundedIn: this.spec.fundedIn } : {}),
    };
    const res = await call(this.socket, 'viewer:join', { streamId: init.streamId, mode: this.spec.mode, session });
    if (!res.ok) return res;
    this.#joinedAt = performance.now();
    this.#lastSeq = res.session?.seq ?? 0;
    if (this.spec.mode === 'hls') {
      // Absolute (the HLS edge's own origin) or relative to the signaling server.
      const playlist = new URL(res.playlistUrl ?? '', init.url).toString();
      toPlayers({ type: 'play', id: this.spec.sessionId, playlist, token: res.token ?? '' });
    } else {
      const { startRtcViewer } = await import('../../signaling/test/viewers-support.ts');
      this.#rtc = await startRtcViewer(this.socket, init.streamId);
    }
    return res;
  }

  /** A fresh token on request, after the player's fetch was refused (the dapp's player does the same). */
  async renewToken(): Promise<void> {
    const renewed = await call(this.socket, 'hls:token', {});
    if (renewed.hlsToken) toPlayers({ type: 'token', id: this.spec.sessionId, token: renewed.hlsToken });
  }

  #onTick(t: { seq: number; owed: string; hlsToken?: string }): void {
    const at = performance.now();
    if (t.hlsToken) toPlayers({ type: 'token', id: this.spec.sessionId, token: t.hlsToken });
    if (recording) {
      stats.ticks++;
      if (t.seq <= this.#lastSeq) stats.duplicated++;
      else if (t.seq > this.#lastSeq + 1) stats.missed += t.seq - this.#lastSeq - 1;
      if (this.#lastTickAt !== undefined) stats.tickIntervalMs.push(at - this.#lastTickAt);
    }
    if (this.ticksTotal++ === 0) this.firstTickAfterMs = Math.round(at - this.#joinedAt);
    this.#lastSeq = Math.max(this.#lastSeq, t.seq);
    this.#lastTickAt = at;
    // As the dapp sends it: a notification, answered with the next tick (refusals as `tick:refused`).
    this.socket.emit('tick:ack', { seq: t.seq, owed: t.owed, signature: this.voucher(t.seq, t.owed) });
    if (recording) stats.vouchersSent++;
  }

  close(): void {
    if (this.spec.mode === 'hls') toPlayers({ type: 'stop', id: this.spec.sessionId });
    this.#rtc?.close();
    this.socket.close();
  }
}

async function joinOne(spec: ViewerSpec): Promise<string | undefined> {
  const socket = await openSocket(await tokenOf(spec.walletUri));
  const viewer = new BenchViewer(spec, socket);
  const res = await viewer.join();
  if (!res.ok) {
    viewer.close();
    return res.code ?? 'unknown';
  }
  viewers.push(viewer);
  bySession.set(spec.sessionId, viewer);
  return undefined;
}

async function joinAll(specs: ViewerSpec[], concurrency: number): Promise<void> {
  const t0 = performance.now();
  const failed: Record<string, number> = {};
  let ok = 0;
  let next = 0;
  const lane = async () => {
    while (next < specs.length) {
      const spec = specs[next++] as ViewerSpec;
      try {
        const code = await joinOne(spec);
        if (code) bump(failed, code);
        else ok++;
      } catch (err) {
        bump(failed, (err as Error).message.slice(0, 80));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, specs.length) }, lane));
  send({ type: 'joined', ok, failed, ms: Math.round(performance.now() - t0) });
}

let profiler: Session | undefined;
let windowNo = 0;

/** Starts a CPU profile of this process for the window (with `profileDir`). */
async function startProfile(): Promise<void> {
  if (!init.profileDir) return;
  profiler ??= new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}

/** Writes the window's CPU profile as `<profileDir>/viewers-<pid>-<window>.cpuprofile`. */
async function stopProfile(): Promise<void> {
  if (!profiler) return;
  const { profile } = await profiler.post('Profiler.stop');
  profiler.disconnect();
  writeFileSync(
    join(init.profileDir ?? '.', `viewers-${process.pid}-${++windowNo}.cpuprofile`),
    JSON.stringify(profile),
  );
}

function closeAll(): void {
  for (const v of viewers.splice(0)) v.close();
  bySession.clear();
  toPlayers({ type: 'close' });
}

process.on('disconnect', () => {
  closeAll();
  process.exit(0);
});

process.on('message', (m: ToViewers) => {
  const run = async () => {
    switch (m.type) {
      case 'init': {
        init = m;
        startPlayers(m.fetchEveryMs);
        await cryptoWaitReady();
        // The fast signer must produce exactly the contracts-client voucher signature.
        const probe = { seed: 'ab'.repeat(32), walletUri: '//x', sessionId: 'probe-session', mode: 'hls' as const };
        const fake = { on: () => undefined } as unknown as Socket;
        const mine = new BenchViewer(probe, fake).voucher(7, '7000000');
        const theirs = signVoucher(createSessionKey(42, hexToU8a(`0x${probe.seed}`)), {
          genesisHash: init.genesisHash,
          streamId: init.streamId,
          sessionId: probe.sessionId,
          seq: 7,
          owed: 7_000_000n,
        });
        if (mine !== theirs) throw new Error('the Node ed25519 voucher signature differs from signVoucher');
        send({ type: 'initialized' });
        return;
      }
      case 'join':
        return joinAll(m.viewers, m.concurrency);
      case 'status': {
        const ticking = viewers.filter((v) => v.sinceLastTickMs < 1_500).length;
        const never = viewers.filter((v) => v.ticksTotal === 0);
        const { fetches } = await askPlayers(
          { type: 'first-fetches', ids: never.slice(0, 5).map((v) => v.spec.sessionId) },
          'first-fetches',
        );
        const firstTicks = viewers.flatMap((v) => (v.firstTickAfterMs === undefined ? [] : [v.firstTickAfterMs]));
        send({
          type: 'status',
          viewers: viewers.length,
          ticking,
          neverTicked: never.length,
          neverTickedFetches: Object.values(fetches).map((f) => f.join(' ')),
          firstTickAfterMs: firstTicks,
        });
        return;
      }
      case 'window-start':
        stats = emptyStats();
        recording = true;
        loopDelay.reset();
        toPlayers({ type: 'window-start' });
        return startProfile();
      case 'window-end': {
        recording = false;
        stats.loopDelayMs = { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
        const played: PlayerStats = (await askPlayers({ type: 'window-end' }, 'window')).stats;
        Object.assign(stats, played);
        await stopProfile();
        for (const v of viewers) stats.viewers[v.spec.mode]++;
        send({ type: 'window', stats });
        stats = emptyStats();
        return;
      }
      case 'close':
        closeAll();
        send({ type: 'closed' });
        setTimeout(() => process.exit(0), 200);
        return;
    }
  };
  run().catch((err: unknown) => send({ type: 'error', message: (err as Error).stack ?? String(err) }));
});
send({ type: 'ready' });
