// A viewer's links for one stream: the chain (and crypto), the signed-in signaling socket with the viewer's events
// bound to the watch session's figures, and the player over that socket. Warmed up while the page is open, so "Watch"
// on a funded session starts at once; the socket outlives a session (the next one joins on it).
import type { MediaPauseReason, ViewerReleaseReason } from '@persecond/signaling/protocol';
import type { AuthSession } from '../auth/session.svelte.ts';
import { chainClient } from '../chain/api.ts';
import { UserFacingError } from '../errors.ts';
import { ViewerPlayback } from '../media/playback.ts';
import type { EdgeRefusal } from '../media/player.ts';
import { openSignalingSocket, type SignalingSocket } from '../signaling/socket.ts';
import { bindViewerEvents } from '../signaling/viewerEvents.ts';
import type { FundedSession } from './FundedSession.ts';
import type { SessionKind, WatchPhase, WatchTimings } from './watchStatus.ts';

/** The watch session's figures the socket's events read and set (its own reactive fields). */
export interface LinkedSession {
  readonly phase: WatchPhase;
  readonly owed: bigint;
  readonly timings: WatchTimings;
  connection: 'good' | 'reconnecting' | 'lost';
  mediaPaused: boolean;
  pauseReason: MediaPauseReason | undefined;
  paymentRequired: boolean;
  problem: string | undefined;
  /** The last refusal of the HLS edge while media does not load (undefined once it does). */
  edgeRefusal: EdgeRefusal | undefined;
  /** The stream ended: closes the session as on leave, and tells its final figures. */
  streamEnded(): Promise<void>;
  /** The server ended the session (`viewer:released`): what it metered and saw settled, to pay the rest from. */
  released(p: { reason: ViewerReleaseReason; owed: string; settled: string }): Promise<void>;
}

/** What the events need of the watch session besides its figures. */
export interface LinkHooks {
  /** The funded session the ticks and payments are for, if any. */
  funded(): FundedSession | undefined;
  /** Joins again: the socket is back, on a new id, while watching. */
  rejoin(): void;
}

/** The chain, the socket and the player of one viewer on one stream. */
export class ViewerConnection {
  /** The stream's player, over this connection's socket. */
  readonly player: ViewerPlayback;
  /** The chain's genesis hash (lowercase), once `chainReady` resolved. */
  genesis = '';
  /** The element the stream plays in (the last one Watch was given). */
  video: HTMLVideoElement | undefined;
  #socket: SignalingSocket | undefined;

  constructor(
    private readonly auth: AuthSession,
    streamId: string,
    private readonly session: LinkedSession,
    private readonly hooks: LinkHooks,
    /** A replay is played over HLS only: no WebRTC device to load. */
    private readonly kind: SessionKind = 'live',
  ) {
    this.player = new ViewerPlayback(() => this.#socket, streamId);
    this.player.onRefusal = (r) => {
      session.edgeRefusal = r;
    };
  }

  /** The signaling socket, once opened. */
  get socket(): SignalingSocket | undefined {
    return this.#socket;
  }

  /** Connects to the chain and readies its crypto; reads the genesis hash vouchers and delegations are bound to. */
  async chainReady(): Promise<void> {
    const client = await chainClient();
    const { cryptoWaitReady } = await import('@polkadot/util-crypto');
    await cryptoWaitReady();
    this.genesis = client.facts.genesisHash.toLowerCase();
  }

  /** Opens the socket, loads the stream's WebRTC device and the hls.js module; best effort (a join does it again). */
  warmUp(): Promise<unknown> {
    const device = this.kind === 'live' ? this.open().then(() => this.player.loadDevice()) : this.open();
    return Promise.allSettled([device, import('hls.js')]);
  }

  /** The signed-in socket, opened (with the viewer's events bound) on first use. */
  async open(): Promise<SignalingSocket> {
    if (this.#socket) return this.#socket;
    const socket = await openSignalingSocket(this.auth.token);
    this.#socket = socket;
    const { session: s, hooks } = this;
    bindViewerEvents(socket, {
      tick: (tick) => {
        s.timings.firstTick ??= performance.now();
        this.player.tokens.renew(tick.hlsToken);
        hooks.funded()?.vouchers.onTick(tick);
      },
      tickRefused: (r) => {
        // A voucher for a tick that crossed a leave is refused too: not worth telling once the viewer has left.
        if (s.phase === 'watching') s.problem = UserFacingError.fromCode(r.code).message;
      },
      paymentRequired: (p) => {
        s.paymentRequired = true;
        // Only a settlement lifts a settlement hold; acknowledgements behind catch up by themselves, and paying then
        // would settle a part-window early for nothing.
        const f = hooks.funded();
        if (f && p.reason === 'settlement-lag') void f.settler.urgent(s.owed, f.vouchers.lastAckSeq);
      },
      paymentOk: (p) => {
        s.paymentRequired = false;
        hooks.funded()?.settler.credit(BigInt(p.settled));
        this.player.tokens.renew(p.hlsToken);
      },
      mediaPaused: (p) => {
        s.mediaPaused = true;
        s.pauseReason = p.reason;
      },
      mediaResumed: (p) => {
        s.mediaPaused = false;
        s.pauseReason = undefined;
        if (p?.hlsToken) this.player.tokens.renew(p.hlsToken);
        else void this.player.tokens.refresh();
      },
      streamEnded: () => void s.streamEnded(),
      released: (p) => void s.released(p),
      disconnected: () => {
        if (s.phase === 'watching') s.connection = 'reconnecting';
      },
      reconnected: () => {
        s.connection = 'good';
        if (s.phase === 'watching') hooks.rejoin();
      },
      lost: () => {
        s.connection = 'lost';
      },
    });
    return socket;
  }

  /** Stops the player and closes the socket. */
  close(): void {
    this.player.stop();
    this.#socket?.close();
    this.#socket = undefined;
  }
}
