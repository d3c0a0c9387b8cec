import type { Logger } from 'pino';
import type { LeaveTotals } from './creatorEvents.ts';
import type { ViewerMetrics } from './metrics.ts';
import type { ViewerRegistry } from './ViewerRegistry.ts';
import type { ViewerSession } from './ViewerSession.ts';

/** How often idle viewers are looked for. */
const IDLE_SWEEP_MS = 5_000;

/**
 * Releases admitted viewers that were sent no media for `idleMs` while their stream had media to send (a transport
 * never connected, a viewer held for payment that never pays): their capacity and RTP ports go back, their session is
 * closed as on leave, and they are told `viewer:released`.
 */
export class IdleRelease {
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly registry: ViewerRegistry,
    /** Whether the session's stream has nothing to send now (creator away or paused): idle time does not run. */
    private readonly quiet: (s: ViewerSession) => boolean,
    /** Ends a session (called inside its lifecycle lock). */
    private readonly finish: (s: ViewerSession) => Promise<LeaveTotals>,
    private readonly idleMs: number,
    private readonly metrics: ViewerMetrics,
    private readonly log: Logger,
  ) {
    this.#timer = setInterval(() => this.#sweep(), Math.min(IDLE_SWEEP_MS, idleMs));
    this.#timer.unref();
  }

  /** Stops looking. */
  close(): void {
    clearInterval(this.#timer);
  }

  #sweep(): void {
    const before = Date.now() - this.idleMs;
    for (const s of this.registry.all()) {
      if (this.quiet(s)) {
        s.lastActiveAt = Date.now();
        continue;
      }
      const socket = s.socket;
      if (!socket || s.lastActiveAt >= before) continue;
      void this.registry
        .serialize(s.sessionId, async () => {
          if (s.socket !== socket || s.closed || s.lastActiveAt >= before) return;
          const totals = await this.finish(s);
          this.metrics.idleReleased.inc();
          this.log.info({ sessionId: s.sessionId, ...totals }, 'idle viewer released');
          socket.emit('viewer:released', { reason: 'idle', owed: totals.owed, settled: totals.settled });
        })
        .catch((err: unknown) => this.log.warn({ err, sessionId: s.sessionId }, 'could not release an idle viewer'));
    }
  }
}
