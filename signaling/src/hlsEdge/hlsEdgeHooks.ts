import { randomBytes } from 'node:crypto';
import { PLAYLIST_NAME } from '@persecond/sfu/hls-reader';
import type { SignalingSocket } from '../RequestRouter.ts';
import type { SignalingContext } from '../SignalingContext.ts';
import type { HlsCredit } from './HlsCredit.ts';
import { HlsEdge, type ReplayDeliveredHandler } from './HlsEdge.ts';
import { HlsTokens } from './HlsTokens.ts';

/** The HLS settings of the viewers' configuration (`viewers/config.ts`) the edge is started with. */
export interface HlsEdgeConfig {
  readonly HLS_EDGE_PORT: number;
  readonly HLS_TOKEN_TTL_SECONDS: number;
  readonly HLS_TOKEN_SECRET?: string | undefined;
  readonly HLS_PUBLIC_URL?: string | undefined;
}

/** What the hooks read of a viewer session (the viewers module's entry). */
export interface HlsViewerState {
  readonly sessionId: string;
  readonly streamId: string;
  readonly mode: 'webrtc' | 'hls' | 'replay';
  readonly socket: SignalingSocket | undefined;
  readonly paused: string | undefined;
  readonly hls: HlsCredit;
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

/**
 * The viewers module's side of the HLS edge process: issues tokens with the key the edge verifies them with, keeps
 * the edge's allow list in step with each viewer's state (`sync`), credits the deliveries it reports, and names the
 * playlist URL an admitted HLS viewer fetches from the edge.
 */
export class HlsEdgeHooks {
  private constructor(
    readonly edge: HlsEdge,
    /** Issues (and verifies) per-viewer HLS tokens. */
    readonly tokens: HlsTokens,
    private readonly publicUrl: string | undefined,
    private readonly host: string,
  ) {}

  /** Starts the edge child on the signaling host; its metrics go to the node's registry. */
  static async start(ctx: SignalingContext, config: HlsEdgeConfig): Promise<HlsEdgeHooks> {
    // Unset, a random key per process: the edge child is told it, so its checks match the tokens issued here.
    const tokenSecret = config.HLS_TOKEN_SECRET ?? randomBytes(32).toString('base64url');
    const edge = await HlsEdge.start({
      host: ctx.config.HOST,
      port: config.HLS_EDGE_PORT,
      hlsDir: ctx.sfu.config.hlsDir,
      recordingDir: ctx.sfu.config.recordingDir,
      segmentSeconds: ctx.sfu.config.hlsSegmentSeconds,
      tokenSecret,
      ...(config.HLS_PUBLIC_URL ? { publicUrl: config.HLS_PUBLIC_URL } : {}),
      log: ctx.log,
      registry: ctx.metrics.registry,
    });
    const tokens = new HlsTokens(tokenSecret, config.HLS_TOKEN_TTL_SECONDS * 1000);
    return new HlsEdgeHooks(edge, tokens, config.HLS_PUBLIC_URL, ctx.config.HOST);
  }

  /**
   * Credits each reported delivery to the live HLS session `find` returns (sessions gone since are skipped), and
   * hands the replay segments of each report to `replays` (charged once per session: `ReplayCharging`).
   */
  creditTo(find: (sessionId: string) => HlsViewerState | undefined, replays: ReplayDeliveredHandler): void {
    this.edge.onDelivered = (seconds) => {
      for (const sessionId in seconds) {
        const e = find(sessionId);
        if (e?.mode === 'hls') e.hls.add(seconds[sessionId] as number);
      }
    };
    this.edge.onReplayDelivered = replays;
  }

  /**
   * Tells the edge what the viewer may fetch now: served while an HLS (or replay) viewer is connected and paying, else
   * refused.
   */
  sync(e: HlsViewerState): void {
    if (e.mode === 'webrtc' || !e.socket) this.edge.deny(e.sessionId);
    else this.edge.allow(e.sessionId, e.streamId, e.paused, e.mode === 'replay');
  }

  /**
   * Resolves once the edge applied every allow/deny sent so far: IPC keeps order and the child answers a flush after
   * the commands before it. A token handed out before then could meet an edge that does not know the session yet.
   */
  caughtUp(): Promise<void> {
    return this.edge.flush();
  }

  /** Resolves once every delivery the edge made so far was reported (and credited). */
  flushDeliveries(): Promise<void> {
    return this.edge.flush();
  }

  /** Absolute URL of a stream's playlist on the edge, as the viewer on `socket` can reach it. */
  playlistUrl(streamId: string, socket: SignalingSocket): string {
    return `${this.#baseUrl(socket)}/hls/${streamId}/${PLAYLIST_NAME}`;
  }

  /** Absolute URL of a stream's recording (its playlist) on the edge, for a replay session. */
  replayUrl(streamId: string, socket: SignalingSocket): string {
    return `${this.#baseUrl(socket)}/replay/${streamId}/${PLAYLIST_NAME}`;
  }

  /** Stops the edge child. */
  close(): Promise<void> {
    return this.edge.close();
  }

  #baseUrl(socket: SignalingSocket): string {
    if (this.publicUrl || !WILDCARD_HOSTS.has(this.host)) return this.edge.url;
    // Listening on every interface: the viewer reaches the edge at the host name it reached signaling at.
    const reached = socket.handshake.headers.host;
    const hostname = reached ? hostnameOf(reached) : undefined;
    return hostname ? `http://${hostname}:${this.edge.port}` : this.edge.url;
  }
}

/** The host name of a `Host` header (IPv6 kept in brackets), or undefined when it is not one. */
function hostnameOf(hostHeader: string): string | undefined {
  try {
    const { hostname } = new URL(`http://${hostHeader}`);
    return hostname || undefined;
  } catch {
    return undefined;
  }
}
