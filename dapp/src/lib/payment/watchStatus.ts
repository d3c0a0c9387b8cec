// What a watch session tells about itself besides its figures: where it stands, and when its steps happened.

/** What a watch session pays for: the live stream (`viewer:join`) or its recording (`replay:join`). */
export type { SessionKind } from '@persecond/contracts-client/browser';

/** Where the session stands. */
export type WatchPhase =
  | 'idle'
  | 'funding'
  | 'funded'
  | 'joining'
  | 'watching'
  | 'leaving'
  | 'left'
  /** The stream ended: the session was closed and paid as on leave. */
  | 'ended'
  | 'refused'
  | 'failed';

/** `performance.now()` marks of the last fund and watch (not reactive): for benchmarks and tests. */
export interface WatchTimings {
  fundStart?: number;
  funded?: number;
  delegated?: number;
  watchStart?: number;
  admitted?: number;
  playing?: number;
  /** The first settlement of this page landed in a block. */
  firstSettled?: number;
  /** The first tick of this page arrived. */
  firstTick?: number;
}
