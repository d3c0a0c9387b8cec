// Messages between the ticking bench (bench/signaling/ticking.ts) and its viewer processes (tickingViewers.ts).

/** One simulated viewer: its wallet (a keyring URI), its session key seed and session id, and how it watches. */
export interface ViewerSpec {
  walletUri: string;
  /** 32-byte ed25519 seed of the session key, hex. */
  seed: string;
  sessionId: string;
  mode: 'hls' | 'webrtc';
  /** Block the session's funding landed in (set once funded). */
  fundedIn?: string;
}

/** What the bench asks a viewer process to do. */
export type ToViewers =
  | {
      type: 'init';
      url: string;
      streamId: string;
      genesisHash: string;
      budget: string;
      fetchEveryMs: number;
      /** Where to write a CPU profile of each measurement window (none when absent). */
      profileDir?: string;
    }
  | { type: 'join'; viewers: ViewerSpec[]; concurrency: number }
  | { type: 'status' }
  | { type: 'window-start' }
  | { type: 'window-end' }
  | { type: 'close' };

/** Tick and acknowledgement figures of one viewer process over a measurement window. */
export interface WindowStats {
  /** Viewers of this process by mode. */
  viewers: { hls: number; webrtc: number };
  ticks: number;
  /** Ticks whose seq skipped one or more (count of skipped seqs) or repeated an earlier one. */
  missed: number;
  duplicated: number;
  /** Vouchers sent (as notifications: one per tick, no answer awaited). */
  vouchersSent: number;
  /** Vouchers the server refused (`tick:refused`), and their codes. */
  refused: number;
  refusedCodes: Record<string, number>;
  /** Interval between consecutive ticks of one viewer (ms). */
  tickIntervalMs: number[];
  /** The viewer process's event-loop delay over the window (ms). */
  loopDelayMs: { p99: number; max: number };
  /** Events that stop a paying viewer (should stay 0). */
  paymentRequired: number;
  /** HLS playlist fetches by HTTP status. */
  fetchStatuses: Record<string, number>;
  /** HLS playlist fetch time, with the new segments it lists (ms). */
  fetchMs: number[];
  /** New HLS segments fetched (200) and their bytes, read in full. */
  segments: number;
  segmentBytes: number;
}

/** What a viewer process answers. */
export type FromViewers =
  | { type: 'ready' }
  | { type: 'initialized' }
  | { type: 'joined'; ok: number; failed: Record<string, number>; ms: number }
  | {
      type: 'status';
      viewers: number;
      ticking: number;
      /** Viewers that never got a tick, and the first HLS fetch outcomes (`status@ms after join`) of a few. */
      neverTicked: number;
      neverTickedFetches: string[];
      /** Time from admission to the first tick, per viewer that got one. */
      firstTickAfterMs: number[];
    }
  | { type: 'window'; stats: WindowStats }
  | { type: 'closed' }
  | { type: 'error'; message: string };

/** What a viewer process's sockets tell its players (a worker thread, tickingPlayers.ts); `id` is the session id. */
export type ToPlayers =
  | { type: 'play'; id: string; playlist: string; token: string }
  | { type: 'token'; id: string; token: string }
  | { type: 'stop'; id: string }
  | { type: 'window-start' }
  | { type: 'window-end' }
  | { type: 'first-fetches'; ids: string[] }
  | { type: 'close' };

/** The players' HLS figures of a window. */
export type PlayerStats = Pick<WindowStats, 'fetchStatuses' | 'fetchMs' | 'segments' | 'segmentBytes'>;

/** What the players answer: a refused token to renew, a window's figures, the first fetch outcomes of some. */
export type FromPlayers =
  | { type: 'need-token'; id: string }
  | { type: 'window'; stats: PlayerStats }
  | { type: 'first-fetches'; fetches: Record<string, string[]> };
