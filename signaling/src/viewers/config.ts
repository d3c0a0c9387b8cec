import { z } from 'zod';
import { parseEnv } from '../env.ts';

const seconds = (def: number, max = 3_600) => z.coerce.number().int().min(1).max(max).default(def);

const ViewersEnv = z.object({
  /** Ticks a viewer may leave unacknowledged before its media is paused (DESIGN.md §4). */
  VOUCHER_GRACE_SECONDS: seconds(3),
  /** Seconds of watching the client settles at a time; part of the payment window. */
  SETTLE_EVERY_SECONDS: seconds(10),
  /** Extra seconds of unsettled watching tolerated before the viewer is paused. */
  PAYMENT_GRACE_SECONDS: seconds(12),
  /** Seconds of watching the session account must be able to pay for at admission. */
  MIN_PREPAY_SECONDS: seconds(30, 86_400),
  /** How long a disconnected viewer's session waits for a reconnect before it is closed. */
  RECONNECT_GRACE_SECONDS: seconds(30),
  /**
   * An admitted viewer that was neither sent media nor showed a payment for this long is released (its WebRTC
   * capacity and RTP ports freed, its session closed as on leave); a stream whose creator is away does not count.
   */
  IDLE_RELEASE_SECONDS: seconds(60),
  /** Life of a per-viewer HLS token. */
  HLS_TOKEN_TTL_SECONDS: seconds(10, 600),
  /** HMAC key of HLS tokens (≥ 32 chars); unset: a random key per process. */
  HLS_TOKEN_SECRET: z.string().min(32, 'HLS_TOKEN_SECRET must be at least 32 characters').optional(),
  /** Port of the HLS edge process (on the signaling HOST; 0 picks a free one). */
  HLS_EDGE_PORT: z.coerce.number().int().min(0).max(65_535).default(0),
  /** Base URL players reach the HLS edge at (e.g. behind a proxy or CDN); unset: `http://<host>:<edge port>`. */
  HLS_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Fixed native fee reserve in planck; unset: estimated from the chain (settlements within the prepay + the sweep). */
  FEE_RESERVE_PLANCK: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,38})$/, 'a decimal planck amount')
    .transform((s) => BigInt(s))
    .optional(),
  /** `viewer:join` requests allowed per wallet and window (each node counts its own). */
  JOIN_RATE_LIMIT_MAX: z.coerce.number().int().min(1).default(20),
  JOIN_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3_600).default(60),
  /** Round period of the tick meter. */
  TICK_INTERVAL_MS: z.coerce.number().int().min(100).max(10_000).default(1_000),
  /**
   * How often each session's newest voucher is verified (one ed25519 check per session and interval, not per tick;
   * sessions at their own phase). The acknowledged amount lags by up to an interval and a bad signature pauses the
   * viewer within about one; vouchers waiting are verified at once when a session ends. The default stays inside the
   * payment window (SETTLE_EVERY_SECONDS + PAYMENT_GRACE_SECONDS) a viewer who never settles is served anyway.
   */
  VOUCHER_VERIFY_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(10_000),
  /**
   * A round's ticks go out in chunks of this many viewers, one chunk per turn of the event loop. Small chunks keep
   * each burst (the server's emits, the viewers' signatures, their vouchers back) short: at 2,000 viewers chunks of
   * 50 took p50 tick→voucher from ~10 ms to ~3 ms and p99 from ~50 ms to ~32 ms on a 2-core VM.
   */
  TICK_DELIVERY_CHUNK: z.coerce.number().int().min(1).max(100_000).default(50),
  /**
   * Spreads a round's tick chunks over this many ms (0: back to back), so the viewers' answers do not all queue behind
   * one burst (at most 40 % of TICK_INTERVAL_MS is used). 1,000 viewers: p99 tick→ack 36 ms spread over 400 ms,
   * 130–280 ms back to back.
   */
  TICK_DELIVERY_SPREAD_MS: z.coerce.number().int().min(0).max(10_000).default(400),
});

/** Viewer flow settings: payment windows, admission, reconnects and HLS tokens. */
export type ViewersConfig = z.infer<typeof ViewersEnv>;

/** Parses the viewer flow's variables of `env` once; empty values count as unset. */
export function loadViewersConfig(env: NodeJS.ProcessEnv = process.env): ViewersConfig {
  return parseEnv(ViewersEnv, env, 'viewers');
}
