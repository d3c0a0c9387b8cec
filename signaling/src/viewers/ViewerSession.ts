import { EventEmitter } from 'node:events';
import type { Asset, PaymentRules } from '@persecond/contracts-client';
import type { TransportParams } from '@persecond/sfu';
import { HlsCredit } from '../hlsEdge/HlsCredit.ts';
import type { LedgerSession } from '../ledger/Ledger.ts';
import type { PaymentLag, PaymentPosition } from '../payments/paymentRules.ts';
import type { MeterTick } from '../payments/TickMeter.ts';
import type { SessionStanding } from '../protocol.ts';
import type { SignalingSocket } from '../RequestRouter.ts';
import { WatchedSegments } from '../replays/WatchedSegments.ts';

/** A viewer session as other modules and tests see it. */
export interface ViewerSnapshot {
  sessionId: string;
  streamId: string;
  mode: ViewerMode;
  connected: boolean;
  seq: number;
  watchedSeconds: number;
  owed: bigint;
  acknowledged: bigint;
  settled: bigint;
  paused: PaymentLag | undefined;
  /** HLS media delivered and not metered yet (seconds). */
  hlsCredit: number;
}

/** Where a session's media comes from: the live stream over WebRTC or HLS, or the stream's recording (a replay). */
export type ViewerMode = 'webrtc' | 'hls' | 'replay';

/** Who a session is and what it was admitted under (fixed for its life): the session's own fields of that name. */
export type ViewerIdentity = Pick<
  ViewerSession,
  'sessionId' | 'streamId' | 'wallet' | 'sessionAccount' | 'asset' | 'price' | 'rules'
>;

/**
 * One admitted viewer session on this node: its payment counters, where its media goes (WebRTC transport or HLS), the
 * socket it answers on (none while it waits for a reconnect), and its grace timer. Kept through a disconnect for the
 * reconnect grace. `close()` (idempotent) stops its timer and emits `@close` to its owner, the registry.
 */
export class ViewerSession extends EventEmitter<{ '@close': [] }> {
  readonly sessionId: string;
  readonly streamId: string;
  readonly wallet: string;
  readonly sessionAccount: string;
  readonly asset: Asset;
  readonly price: bigint;
  readonly rules: PaymentRules;
  mode: ViewerMode = 'webrtc';
  socket: SignalingSocket | undefined;
  transport: TransportParams | undefined;
  /** Last tick recorded and sent, and the amounts after it. */
  seq: number;
  watchedSeconds: number;
  owed: bigint;
  /** Tick and amount of the newest verified voucher (in the ledger). */
  verifiedSeq: number;
  acknowledged: bigint;
  /** Tick of the newest voucher received that matches what was sent (verified in a coming round). */
  receivedSeq: number;
  /** The newest verified voucher had a bad signature and no valid one came since. */
  voucherInvalid = false;
  /** Settled on chain (pending + final). */
  settled: bigint;
  /** When enforcement last found the session's payments current by its rules alone (ms since epoch; else admission). */
  paidUpAt = Date.now();
  /** Why media is held for payment, if it is. */
  paused: PaymentLag | undefined;
  /** HLS media delivered and not metered yet: kept across rejoins and reconnects, charged when the session ends. */
  readonly hls = new HlsCredit();
  /** A replay session's segments delivered so far: each is charged once (kept across reconnects). */
  readonly watched = new WatchedSegments();
  /** When the current HLS token was issued (ms since epoch). */
  tokenIssuedAt = 0;
  /** When the newest tick was sent (performance.now()), for the tick → voucher time. */
  tickSentAt = 0;
  /** When media or a voucher last showed the viewer is there (ms since epoch), for releasing idle viewers. */
  lastActiveAt = Date.now();
  #graceTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(identity: ViewerIdentity, from: LedgerSession) {
    super();
    this.sessionId = identity.sessionId;
    this.streamId = identity.streamId;
    this.wallet = identity.wallet;
    this.sessionAccount = identity.sessionAccount;
    this.asset = identity.asset;
    this.price = identity.price;
    this.rules = identity.rules;
    this.seq = from.lastSeq;
    this.watchedSeconds = from.watchedSeconds;
    this.owed = from.owed;
    this.verifiedSeq = from.acknowledgedSeq;
    this.acknowledged = from.acknowledged;
    this.receivedSeq = from.acknowledgedSeq;
    this.settled = from.settledPending + from.settledFinal;
  }

  /** Whether the session ended on this node. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Where enforcement reads the session's payments from. */
  position(): PaymentPosition {
    return {
      seq: this.seq,
      verifiedSeq: this.verifiedSeq,
      receivedSeq: this.receivedSeq,
      owed: this.owed,
      settled: this.settled,
      pricePerSecond: this.price,
      voucherInvalid: this.voucherInvalid,
    };
  }

  /** Takes a tick the ledger recorded. */
  applyTick(tick: MeterTick): void {
    this.seq = tick.seq;
    this.watchedSeconds = tick.watchedSeconds;
    this.owed = tick.owed;
    this.lastActiveAt = Date.now();
  }

  /** Takes a verified voucher (only raises). */
  applyVerified(seq: number, acknowledged: bigint): void {
    if (seq > this.verifiedSeq) this.verifiedSeq = seq;
    if (acknowledged > this.acknowledged) this.acknowledged = acknowledged;
    if (seq > this.receivedSeq) this.receivedSeq = seq;
    this.voucherInvalid = false;
  }

  /** A voucher's signature failed: back to the last verified one, held until a valid newest voucher comes. */
  markInvalid(): void {
    this.voucherInvalid = true;
    this.receivedSeq = this.verifiedSeq;
  }

  /** The amount the watcher credited (pending + final); true when it rose. */
  applySettled(settled: bigint): boolean {
    const raised = settled > this.settled;
    this.settled = settled;
    return raised;
  }

  /** Where the session stands, as the admission tells the client. */
  standing(resumed: boolean): SessionStanding {
    return {
      resumed,
      seq: this.seq,
      watchedSeconds: this.watchedSeconds,
      owed: this.owed.toString(),
      acknowledged: this.acknowledged.toString(),
      settled: this.settled.toString(),
    };
  }

  /** The session as other modules and tests see it. */
  snapshot(): ViewerSnapshot {
    return {
      sessionId: this.sessionId,
      streamId: this.streamId,
      mode: this.mode,
      connected: this.socket !== undefined,
      seq: this.seq,
      watchedSeconds: this.watchedSeconds,
      owed: this.owed,
      acknowledged: this.acknowledged,
      settled: this.settled,
      paused: this.paused,
      hlsCredit: this.hls.credit,
    };
  }

  /** Starts (or restarts) the wait for a reconnect; `expire` runs when it ends. */
  awaitReconnect(ms: number, expire: () => void): void {
    clearTimeout(this.#graceTimer);
    this.#graceTimer = setTimeout(expire, ms);
  }

  /** Stops waiting for a reconnect (the viewer is back). */
  reconnected(): void {
    clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
  }

  /** Ends the session on this node (idempotent): its timer stops and its owner is told with `@close`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    this.emit('@close');
    this.removeAllListeners();
  }
}
