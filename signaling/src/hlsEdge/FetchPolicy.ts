import { parseHlsFileName } from '@persecond/sfu/hls-reader';
import type { ErrorCode } from '../protocol.ts';
import type { EdgeSession, EdgeSessions } from './EdgeSessions.ts';
import type { HlsTokens } from './HlsTokens.ts';
import { MediaBucket } from './MediaBucket.ts';

/** An HLS fetch allowed: the session it is served to and charged on. */
export interface FetchGrant {
  readonly ok: true;
  readonly sessionId: string;
  readonly session: EdgeSession;
}

/** An HLS fetch refused: the HTTP status and the stable code of the answer. */
export interface FetchRefusal {
  readonly ok: false;
  readonly status: 401 | 402 | 429;
  readonly code: ErrorCode;
  readonly message: string;
  readonly headers?: Record<string, string>;
  readonly details?: Record<string, string>;
}

/** Segments a live playlist lists (the SFU's ffmpeg relay writes `-hls_list_size 6`). */
export const LIVE_PLAYLIST_SEGMENTS = 6;

/**
 * The media seconds one session may take at once: every segment a live playlist lists (hls.js starts 2–3 segments
 * behind the live edge, a simple player fetches all of them) and 2 s to spare for a transcoder that writes two
 * segments close together.
 */
export function sessionCapacity(segmentSeconds: number): number {
  return LIVE_PLAYLIST_SEGMENTS * segmentSeconds + 2;
}

/**
 * Who may fetch an HLS file, decided here and only here: a valid token of the stream (else 401 UNAUTHENTICATED), a
 * session the signaling process allowed for it (401), payments current (else 402 PAYMENT_REQUIRED with the pause
 * reason), and no more than one player's worth of media per session (else 429 LIMIT_REACHED with `Retry-After`).
 *
 * One player's worth is a token bucket per session in media seconds (`MediaBucket`): `sessionCapacity` to start
 * with, one media second regained per wall second, each segment served spends its duration whatever its rendition,
 * a playlist (master or a rendition's) nothing. What is charged is media seconds (`DeliveredSegments`): a segment's
 * duration, once per sequence number whatever the rendition (a player switching renditions may fetch segment N in
 * both), and again for a re-fetch in the same rendition (the edge cannot tell a retry from a second player using the
 * token). So however many players share a token, in however many renditions, what they are served together within
 * `t` seconds of the session's first fetch is at most `t + capacity` media seconds, every distinct second of it
 * charged; the rest is refused. Replay sessions fetch the stream's recording under the same rules (token, allow list,
 * 402, bucket), each segment number reported for the signaling process to charge once per session. A bucket left
 * full is dropped (a new one starts full: nothing is lost); an edge restart starts every bucket full again, at most
 * one capacity more per restart.
 */
export class FetchPolicy {
  /** Media seconds a session may take at once (its bucket's capacity). */
  readonly capacity: number;
  readonly #buckets = new Map<string, MediaBucket>();
  /** Fetches refused with 429 per session since the last `drainLimited`. */
  readonly #limited = new Map<string, number>();
  #sweptAt = 0;

  constructor(
    private readonly tokens: HlsTokens,
    private readonly sessions: EdgeSessions,
    /** Seconds one media segment stands for: what serving it spends and charges. */
    private readonly segmentSeconds: number,
  ) {
    this.capacity = sessionCapacity(segmentSeconds);
  }

  /** Sessions with a bucket not known to be full again (they fetched segments lately). */
  get trackedSessions(): number {
    return this.#buckets.size;
  }

  /**
   * Before the file is read: the token's session may fetch `file` of `streamId` now (of its recording with `replay`:
   * replay sessions only, and live sessions only without). Spends nothing.
   */
  admit(streamId: string, token: string, file: string, now = Date.now(), replay = false): FetchGrant | FetchRefusal {
    const sessionId = token ? this.tokens.verify(streamId, token, now)?.sessionId : undefined;
    return this.#check(streamId, sessionId, file, now, false, replay);
  }

  /**
   * When the file is handed over: checked again (a deny may have come while it was read), then a segment spends its
   * seconds and is logged delivered for the session's report.
   */
  deliver(
    streamId: string,
    sessionId: string,
    file: string,
    now = Date.now(),
    replay = false,
  ): FetchGrant | FetchRefusal {
    return this.#check(streamId, sessionId, file, now, true, replay);
  }

  /** Fetches refused over the limit per session since the last call. */
  drainLimited(): Record<string, number> {
    const out = Object.fromEntries(this.#limited);
    this.#limited.clear();
    return out;
  }

  #check(
    streamId: string,
    sessionId: string | undefined,
    file: string,
    now: number,
    spend: boolean,
    replay: boolean,
  ): FetchGrant | FetchRefusal {
    const session = sessionId === undefined ? undefined : this.sessions.get(sessionId);
    if (sessionId === undefined || !session || session.streamId !== streamId || session.replay !== replay) {
      const what = replay ? 'a paid replay session' : 'a valid HLS token';
      return refusal(401, 'UNAUTHENTICATED', `${what} of this stream is required`);
    }
    if (session.paused !== undefined) {
      return { ...refusal(402, 'PAYMENT_REQUIRED', 'payments are behind'), details: { reason: session.paused } };
    }
    const name = parseHlsFileName(file);
    // An unknown name is read as nothing (404), but weighed as a segment until then.
    const seconds = name?.kind === 'playlist' ? 0 : this.segmentSeconds;
    if (seconds > 0) {
      const bucket = this.#buckets.get(sessionId) ?? new MediaBucket(this.capacity, now);
      const waitMs = spend ? bucket.take(seconds, now) : bucket.wait(seconds, now);
      if (waitMs > 0) {
        this.#limited.set(sessionId, (this.#limited.get(sessionId) ?? 0) + 1);
        return {
          ...refusal(429, 'LIMIT_REACHED', "more media than one player's worth on this session's token"),
          headers: { 'retry-after': String(Math.ceil(waitMs / 1000)) },
        };
      }
      if (spend) {
        this.#buckets.set(sessionId, bucket);
        if (replay) {
          // Charged by the signaling process, once per segment number and session (`WatchedSegments`).
          if (name?.kind === 'segment') this.sessions.deliveredReplay(sessionId, session, name.seq);
        } else {
          const charged = name?.kind !== 'segment' || session.segments.note(name.rendition, name.seq);
          if (charged) this.sessions.delivered(sessionId, session, seconds);
        }
        this.#sweep(now);
      }
    }
    return { ok: true, sessionId, session };
  }

  /** Drops the buckets that are full again (at most once per capacity's worth of seconds). */
  #sweep(now: number): void {
    if (now - this.#sweptAt < this.capacity * 1000) return;
    this.#sweptAt = now;
    for (const [sessionId, bucket] of this.#buckets) if (bucket.full(now)) this.#buckets.delete(sessionId);
  }
}

function refusal(status: FetchRefusal['status'], code: ErrorCode, message: string): FetchRefusal {
  return { ok: false, status, code, message };
}
