import type { Sfu } from '@persecond/sfu';
import type { Logger } from 'pino';
import type { HlsEdgeHooks } from '../hlsEdge/hlsEdgeHooks.ts';
import { type PaymentLag, paymentLag } from '../payments/paymentRules.ts';
import type { TickMeter } from '../payments/TickMeter.ts';
import type { ViewerMetrics } from './metrics.ts';
import type { ViewerSession } from './ViewerSession.ts';

/**
 * Holds the media of a viewer that does not pay and releases it when payments are current again (DESIGN §4 step 7):
 * WebRTC consumers held in the room, HLS fetches refused by the edge (402) and no token renewed, no ticks meanwhile.
 * The rules are the session's own (`ViewerSession.rules`, from its stream's terms); `paymentLag` says who is behind.
 */
export class PaymentEnforcer {
  constructor(
    private readonly sfu: Sfu,
    private readonly meter: Pick<TickMeter, 'pause' | 'resume'>,
    private readonly hlsEdge: HlsEdgeHooks,
    private readonly metrics: ViewerMetrics,
    private readonly log: Logger,
    private readonly hlsTokenRenewAfterMs: number,
    /** Milliseconds the chain node could not be reached since a time (ms since epoch); default: never away. */
    private readonly chainDownMsSince: (since: number) => number = () => 0,
  ) {}

  /**
   * Holds a viewer that fell behind, releases one that caught up; a closed session is left alone. Settlements the
   * chain could not take are not late: behind on settlements only, the window is extended by the time the chain node
   * was away since the viewer was last current.
   */
  enforce(s: ViewerSession): void {
    if (s.closed) return;
    const position = s.position();
    let lag = paymentLag(position, s.rules);
    if (!lag) s.paidUpAt = Date.now();
    else if (lag === 'settlement-lag') {
      const chainOutageSeconds = Math.ceil(this.chainDownMsSince(s.paidUpAt) / 1000);
      if (chainOutageSeconds > 0) lag = paymentLag({ ...position, chainOutageSeconds }, s.rules);
    }
    if (lag && !s.paused) this.#hold(s, lag);
    else if (!lag && s.paused) this.#release(s);
    // A bad signature is told even to a viewer held for another reason: resending the same vouchers will not help.
    else if (lag === 'voucher-invalid' && s.paused !== lag) this.#hold(s, lag);
    else if (lag) s.paused = lag;
  }

  /** A new HLS token for the viewer (its issue time decides when a tick carries a renewed one). */
  issueToken(s: ViewerSession): string {
    s.tokenIssuedAt = Date.now();
    return this.hlsEdge.tokens.issue(s.streamId, s.sessionId, s.tokenIssuedAt);
  }

  /**
   * A renewed token for a tick: an HLS (or replay) viewer whose payments are current and whose token is past half its
   * life.
   */
  renewalFor(s: ViewerSession): string | undefined {
    if (s.mode === 'webrtc' || s.paused || Date.now() - s.tokenIssuedAt < this.hlsTokenRenewAfterMs) return undefined;
    return this.issueToken(s);
  }

  /** A fresh HLS token for an HLS viewer whose media resumes: renewals stop while held, so the last may be stale. */
  freshToken(s: ViewerSession): { hlsToken?: string } {
    return s.mode === 'webrtc' ? {} : { hlsToken: this.issueToken(s) };
  }

  #hold(s: ViewerSession, reason: PaymentLag): void {
    s.paused = reason;
    this.meter.pause(s.sessionId);
    this.hlsEdge.sync(s);
    this.metrics.pauses.inc({ reason });
    if (s.mode === 'webrtc' && s.transport) {
      this.sfu
        .getRoom(s.streamId)
        ?.pauseViewer(s.sessionId)
        .catch((err: unknown) => this.log.warn({ err, sessionId: s.sessionId }, 'could not pause a viewer'));
    }
    this.log.info({ sessionId: s.sessionId, reason, owed: s.owed, settled: s.settled }, 'viewer paused');
    s.socket?.emit('payment:required', { reason, owed: s.owed.toString(), settled: s.settled.toString() });
    s.socket?.emit('media:paused', { reason });
  }

  #release(s: ViewerSession): void {
    s.paused = undefined;
    if (s.socket) this.meter.resume(s.sessionId);
    this.hlsEdge.sync(s);
    if (s.mode === 'webrtc' && s.transport) {
      this.sfu
        .getRoom(s.streamId)
        ?.resumeViewer(s.sessionId)
        .catch((err: unknown) => this.log.warn({ err, sessionId: s.sessionId }, 'could not resume a viewer'));
    }
    this.log.info({ sessionId: s.sessionId }, 'viewer resumed');
    // An HLS player fetches with the fresh token at once: it is told only once the edge serves the session again.
    if (s.mode !== 'webrtc') void this.hlsEdge.caughtUp().then(() => this.#announceResume(s));
    else this.#announceResume(s);
  }

  /** Tells a viewer whose media resumed (unless it was held again or left meanwhile). */
  #announceResume(s: ViewerSession): void {
    if (s.closed || s.paused) return;
    const fresh = this.freshToken(s);
    s.socket?.emit('payment:ok', { settled: s.settled.toString(), ...fresh });
    s.socket?.emit('media:resumed', fresh);
  }
}
