// Paying replay viewers for bench/replay: each joins a stream's replay (`replay:join` with its own session key, a
// delegation signed by its wallet and a join proof for its socket), acknowledges every tick with a voucher signed by
// its session key, and plays as a player at real time: the master and media playlists once, then one segment of the
// top rendition per segment length from a random point, in order, wrapping at the end; counting what the HLS edge
// served and refused.
import {
  createSessionKey,
  formatDelegation,
  type SessionKey,
  signJoinProof,
  signVoucher,
} from '@persecond/contracts-client';
import { hexToU8a, stringToU8a, u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { io, type Socket } from 'socket.io-client';
import { signIn } from '../../signaling/test/support/clients.ts';
import { benchWallet } from '../signaling/stack.ts';
import type { ViewerSpec } from '../signaling/tickingProtocol.ts';

/** What the players counted since the last `take()`. */
export interface PlayCounts {
  segments: number;
  bytes: number;
  /** Answers other than 200, by status. */
  refused: Record<string, number>;
  /** Fetch times of the segments served, ms. */
  fetchMs: number[];
}

const emptyCounts = (): PlayCounts => ({ segments: 0, bytes: 0, refused: {}, fetchMs: [] });

/** Where the viewers join: the signaling server, the stream, the chain's genesis and the sessions' budget. */
export interface ReplayTarget {
  url: string;
  streamId: string;
  genesisHash: string;
  budget: bigint;
  segmentSeconds: number;
}

/** The replay viewers of one stream, added level by level; `close()` stops them all. */
export class ReplayViewers {
  #counts = emptyCounts();
  readonly #viewers: ReplayViewer[] = [];
  readonly #tokens = new Map<string, Promise<string>>();

  constructor(readonly target: ReplayTarget) {}

  get size(): number {
    return this.#viewers.length;
  }

  /** Joins the funded sessions of `specs` (a few at a time) and starts their players; rejects on a refused join. */
  async add(specs: readonly ViewerSpec[], concurrency = 8): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < specs.length) {
        const spec = specs[next++] as ViewerSpec;
        let token = this.#tokens.get(spec.walletUri);
        if (!token) {
          token = signIn(this.target.url, benchWallet(spec.walletUri));
          this.#tokens.set(spec.walletUri, token);
        }
        const viewer = new ReplayViewer(this.target, spec, await token, this.#count);
        this.#viewers.push(viewer);
        await viewer.start();
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, specs.length) }, worker));
  }

  /** The counts since the last take, and a fresh start. */
  take(): PlayCounts {
    const counts = this.#counts;
    this.#counts = emptyCounts();
    return counts;
  }

  /** Stops every player and closes their sockets. */
  close(): void {
    for (const v of this.#viewers) v.close();
  }

  readonly #count = (f: (c: PlayCounts) => void): void => f(this.#counts);
}

interface ReplayAdmission {
  ok: boolean;
  code?: string;
  playlistUrl?: string;
  token?: string;
}

class ReplayViewer {
  readonly #key: SessionKey;
  #socket: Socket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    readonly target: ReplayTarget,
    readonly spec: ViewerSpec,
    readonly authToken: string,
    readonly count: (f: (c: PlayCounts) => void) => void,
  ) {
    this.#key = createSessionKey(42, hexToU8a(`0x${spec.seed}`));
  }

  async start(): Promise<void> {
    const { url, streamId, genesisHash, budget } = this.target;
    const socket = io(url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 60_000,
      auth: { token: this.authToken },
    });
    this.#socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    socket.on('tick', (t: { seq: number; owed: string }) => {
      const signature = signVoucher(this.#key, {
        genesisHash,
        streamId,
        sessionId: this.spec.sessionId,
        seq: t.seq,
        owed: BigInt(t.owed),
      });
      socket.emit('tick:ack', { seq: t.seq, owed: t.owed, signature });
    });
    const wallet = benchWallet(this.spec.walletUri);
    const message = formatDelegation({
      genesisHash,
      streamId,
      sessionId: this.spec.sessionId,
      sessionAccount: this.#key.address,
      asset: 'native',
      budget,
    });
    const session = {
      sessionId: this.spec.sessionId,
      sessionKey: u8aToHex(this.#key.publicKey),
      budget: budget.toString(),
      delegation: { message, signature: u8aToHex(wallet.sign(u8aWrapBytes(stringToU8a(message)))) },
      proof: signJoinProof(this.#key, {
        genesisHash,
        streamId,
        sessionId: this.spec.sessionId,
        socketId: socket.id ?? '',
      }),
      ...(this.spec.fundedIn ? { fundedIn: this.spec.fundedIn } : {}),
    };
    const res = await new Promise<ReplayAdmission>((resolve) =>
      socket.emit('replay:join', { streamId, session }, resolve),
    );
    if (!res.ok || !res.playlistUrl || !res.token) throw new Error(`replay:join refused: ${res.code}`);
    await this.#play(res.playlistUrl, res.token);
  }

  /** Reads the playlists, then fetches one segment per segment length from a random point, wrapping. */
  async #play(masterUrl: string, token: string): Promise<void> {
    const get = (u: string) => fetch(u, { headers: { 'x-hls-token': token } });
    const master = await (await get(masterUrl)).text();
    const variant = master.split('\n').find((l) => l.length > 0 && !l.startsWith('#'));
    // A one-rendition recording's index.m3u8 is its media playlist.
    const mediaUrl = variant && /\.m3u8$/.test(variant) ? new URL(variant, masterUrl).href : masterUrl;
    const media = mediaUrl === masterUrl ? master : await (await get(mediaUrl)).text();
    const segments = media
      .split('\n')
      .filter((l) => l.length > 0 && !l.startsWith('#'))
      .map((u) => new URL(u, mediaUrl).href);
    if (segments.length === 0) throw new Error('the replay lists no segments');
    let index = Math.floor(Math.random() * segments.length);
    const step = async () => {
      if (this.#closed) return;
      const started = performance.now();
      try {
        const res = await get(segments[index % segments.length] as string);
        const body = await res.arrayBuffer();
        const ms = performance.now() - started;
        this.count((c) => {
          if (res.status === 200) {
            c.segments++;
            c.bytes += body.byteLength;
            c.fetchMs.push(ms);
          } else c.refused[res.status] = (c.refused[res.status] ?? 0) + 1;
        });
      } catch {
        this.count((c) => {
          c.refused.network = (c.refused.network ?? 0) + 1;
        });
      }
      index++;
      if (!this.#closed) {
        const wait = Math.max(0, this.target.segmentSeconds * 1000 - (performance.now() - started));
        this.#timer = setTimeout(() => void step(), wait);
      }
    };
    // Players do not start in step.
    this.#timer = setTimeout(() => void step(), Math.random() * this.target.segmentSeconds * 1000);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#socket?.close();
  }
}
