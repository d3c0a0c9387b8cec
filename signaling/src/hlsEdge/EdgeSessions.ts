import { DeliveredSegments } from './DeliveredSegments.ts';
import { DeliveryLog } from './DeliveryLog.ts';

/** An HLS viewer session the signaling process allowed (or paused) on this edge. */
export interface EdgeSession {
  readonly streamId: string;
  /** Set while payments are behind: requests are answered 402 with this reason. */
  paused: string | undefined;
  readonly delivery: DeliveryLog;
  /** The segments it was delivered, per rendition: a media second is charged once whatever the rendition. */
  readonly segments: DeliveredSegments;
  /** A replay session: served the stream's recording only (a live session: its live output only). */
  readonly replay: boolean;
  /** Replay segments delivered since the last report, by number (the parent charges each once per session). */
  readonly replaySegments: Set<number>;
}

/**
 * The sessions the edge may serve, as the signaling process last said (`allow`/`deny`), with what each was
 * delivered since the last report (`FetchPolicy` decides each fetch).
 */
export class EdgeSessions {
  readonly #sessions = new Map<string, EdgeSession>();
  /** Sessions delivered a segment since the last report (a forgotten one is still reported once). */
  readonly #credited = new Map<string, EdgeSession>();

  /** Sessions known (allowed or paused). */
  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Serves `sessionId` for `streamId` (or knows it as `paused`); a known session of the same stream keeps what it
   * was delivered and not yet reported.
   */
  allow(sessionId: string, streamId: string, paused?: string, replay = false): void {
    const known = this.#sessions.get(sessionId);
    if (known && known.streamId === streamId && known.replay === replay) {
      known.paused = paused;
      return;
    }
    this.#sessions.set(sessionId, {
      streamId,
      paused,
      delivery: new DeliveryLog(),
      segments: new DeliveredSegments(),
      replay,
      replaySegments: new Set(),
    });
  }

  /** Refuses `sessionId` from now on: paused (402, kept) or forgotten (401). */
  deny(sessionId: string, paused?: string): void {
    const known = this.#sessions.get(sessionId);
    if (!known) return;
    if (paused !== undefined) known.paused = paused;
    else this.#sessions.delete(sessionId);
  }

  /** The session, if known. */
  get(sessionId: string): EdgeSession | undefined {
    return this.#sessions.get(sessionId);
  }

  /** Notes `seconds` of media served to a session (nothing for a playlist). */
  delivered(sessionId: string, session: EdgeSession, seconds: number): void {
    if (seconds <= 0) return;
    session.delivery.add(seconds);
    this.#credited.set(sessionId, session);
  }

  /** Notes replay segment `seq` delivered to a session (reported by number, charged once by the parent). */
  deliveredReplay(sessionId: string, session: EdgeSession, seq: number): void {
    session.replaySegments.add(seq);
    this.#credited.set(sessionId, session);
  }

  /** Replay segment numbers delivered per session since the last `drain` (call it before `drain`). */
  drainReplay(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [sessionId, s] of this.#credited) {
      if (s.replaySegments.size === 0) continue;
      out[sessionId] = [...s.replaySegments];
      s.replaySegments.clear();
    }
    return out;
  }

  /** Seconds credited per session since the last call (only sessions with credit); empty when nothing is new. */
  drain(): Record<string, number> {
    const out: Record<string, number> = {};
    if (this.#credited.size === 0) return out;
    for (const [sessionId, s] of this.#credited) {
      const seconds = s.delivery.drain();
      if (seconds > 0) out[sessionId] = seconds;
    }
    this.#credited.clear();
    return out;
  }
}
