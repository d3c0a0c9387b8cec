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
  allow(sessionId: string, streamId: string, paused?: string): void {
    const known = this.#sessions.get(sessionId);
    if (known && known.streamId === streamId) {
      known.paused = paused;
      return;
    }
    this.#sessions.set(sessionId, {
      streamId,
      paused,
      delivery: new DeliveryLog(),
      segments: new DeliveredSegments(),
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
