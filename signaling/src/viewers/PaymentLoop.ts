import { type ChainClient, VoucherVerifier } from '@persecond/contracts-client';
import type { Sfu } from '@persecond/sfu';
import type { Logger } from 'pino';
import { SignalingError } from '../errors.ts';
import type { Ledger, TickRecord } from '../ledger/Ledger.ts';
import type { LedgerModule } from '../ledger/ledgerModule.ts';
import { persistedTicks } from '../payments/persistedTicks.ts';
import { TickMeter } from '../payments/TickMeter.ts';
import { type SignedVoucher, VoucherRounds } from '../payments/VoucherRounds.ts';
import type { Payload } from '../protocol.ts';
import type { ViewersConfig } from './config.ts';
import type { ViewerMetrics } from './metrics.ts';
import type { PaymentEnforcer } from './PaymentEnforcer.ts';
import type { ViewerRegistry } from './ViewerRegistry.ts';
import type { ViewerSession } from './ViewerSession.ts';

/** `0x` and 64 bytes in hex. */
const ED25519_SIGNATURE_HEX_LENGTH = 130;

/** What the payment loop works with. */
export interface PaymentLoopParts {
  sfu: Sfu;
  chain: () => ChainClient | undefined;
  ledgerModule: LedgerModule;
  registry: ViewerRegistry;
  enforcer: PaymentEnforcer;
  metrics: ViewerMetrics;
  log: Logger;
  config: ViewersConfig;
  /** Whether the session's wallet is on its stream's stage as a guest or co-host: not charged meanwhile. */
  onStage?: (s: ViewerSession) => boolean;
}

/**
 * The per-second payment loop of every viewer on the node: the tick meter (one round a second: sample the media flow,
 * tick the sessions it reached, write the round to the ledger, then send the recorded ticks), the vouchers that
 * answer them (cheap checks per voucher; the first of a session verified at once, later ones in coalesced rounds),
 * the settlements the chain credits, and enforcement after each of these. A round the ledger cannot record (its
 * database away) is neither sent nor charged, and holds nobody (`#unrecorded`).
 */
export class PaymentLoop {
  /** The node's tick meter (one for every viewer; viewer ids are session ids). */
  readonly meter: TickMeter;
  readonly #parts: PaymentLoopParts;
  readonly #ledger: Ledger;
  readonly #rounds: VoucherRounds<SignedVoucher & { readonly viewer: ViewerSession }>;
  readonly #unsubscribe: () => void;
  #flows = new Map<string, Map<string, { flowing: boolean }>>();
  #ticked: ViewerSession[] = [];
  /** Σ price of the sessions ticked in the last round, per stream (the creator's earnings per second). */
  #earning = new Map<string, bigint>();
  /** The ledger write of the current round; a session closes only after it (its last tick counts). */
  #writing: Promise<void> = Promise.resolve();
  readonly #roundTasks: (() => void)[] = [];
  /** Since when rounds could not be recorded, and how many viewer-seconds went unsent and uncharged meanwhile. */
  #outage: { since: number; rounds: number; seconds: number } | undefined;

  constructor(parts: PaymentLoopParts) {
    this.#parts = parts;
    const { config, registry, metrics, log, enforcer } = parts;
    this.#ledger = parts.ledgerModule.ledger;
    // A tick reaches the viewer only once the ledger holds it: a crash can lose a second the viewer never heard of
    // (and so never signed for), never one it was charged for.
    const persisted = persistedTicks(this.#ledger, (sessionId, tick) => this.#deliver(sessionId, tick), {
      chunk: config.TICK_DELIVERY_CHUNK,
      // The spread stays well within a round, so rounds keep their one-second grid.
      spreadMs: Math.min(config.TICK_DELIVERY_SPREAD_MS, config.TICK_INTERVAL_MS * 0.4),
      onWriteFailed: (ticks, err) => this.#unrecorded(ticks, err),
    });
    this.meter = new TickMeter({
      intervalMs: config.TICK_INTERVAL_MS,
      beforeRound: async () => {
        // The vouchers due are verified and written here, while no answer to a tick is in flight (the last round's
        // came back long ago): an embedded database's write holds the event loop, and would hold those answers.
        await this.#rounds.runDue();
        // A task that throws must not skip the round (a failing beforeRound does): reported, and the round goes on.
        for (const task of this.#roundTasks) {
          try {
            task();
          } catch (err) {
            log.warn({ err }, 'a round task failed');
          }
        }
        this.#flows = registry.size > 0 ? await parts.sfu.sampleFlow() : new Map();
        this.#earning = new Map();
      },
      onTick: persisted.onTick,
      afterRound: async () => {
        // A failed write was handled by #unrecorded (nothing sent, the meter set back); the round ends normally.
        this.#writing = persisted.afterRound().catch(() => undefined);
        await this.#writing;
        if (this.#outage && this.#ticked.length > 0) this.#recordedAgain();
        const ticked = this.#ticked;
        this.#ticked = [];
        let maxLag = 0;
        for (const s of ticked) {
          maxLag = Math.max(maxLag, s.seq - s.receivedSeq);
          enforcer.enforce(s);
        }
        if (ticked.length > 0) metrics.ackLag.set(maxLag);
      },
      onError: (err, viewerId) => log.warn({ err, viewerId }, 'meter error'),
    });
    const verifier = new VoucherVerifier();
    this.#rounds = new VoucherRounds({
      intervalMs: config.VOUCHER_VERIFY_INTERVAL_MS,
      verify: (sessionId, v) => {
        const chain = parts.chain();
        if (!chain) return false;
        const { streamId, sessionAccount } = v.viewer;
        const voucher = { genesisHash: chain.facts.genesisHash, streamId, sessionId, seq: v.seq, owed: v.owed };
        return verifier.isValid(voucher, v.signature, sessionAccount);
      },
      write: (batch) => this.#ledger.recordVouchers(batch),
      onVerified: (_sessionId, v, acknowledged) => {
        metrics.vouchers.inc({ outcome: 'valid' });
        const s = v.viewer;
        if (s.closed) return;
        const wasInvalid = s.voucherInvalid;
        s.applyVerified(v.seq, acknowledged);
        if (wasInvalid || s.paused) enforcer.enforce(s);
      },
      onInvalid: (_sessionId, v) => {
        metrics.vouchers.inc({ outcome: 'invalid' });
        const s = v.viewer;
        if (s.closed) return;
        s.markInvalid();
        enforcer.enforce(s);
      },
      onError: (err, sessionId) => log.warn({ err, sessionId }, 'could not record a verified voucher'),
      // Rounds run in step with the tick meter (see beforeRound).
      timer: false,
    });
    this.#unsubscribe = parts.ledgerModule.onSettlement(({ sessionId }) => this.#settled(sessionId));
  }

  /**
   * Runs `task` (not awaited) at the start of each tick round, when no answer to a tick is in flight: for periodic
   * work that would otherwise hold those answers (a query on the embedded database holds the event loop).
   */
  atEachRound(task: () => void): void {
    this.#roundTasks.push(task);
  }

  /** Σ price of the stream's sessions ticked in the last round. */
  earningPerSecond(streamId: string): bigint {
    return this.#earning.get(streamId) ?? 0n;
  }

  /** Meters a session from where it stands (paused while held or detached). */
  track(s: ViewerSession): void {
    if (this.meter.has(s.sessionId)) {
      if (!s.paused && s.socket) this.meter.resume(s.sessionId);
      return;
    }
    this.meter.add(s.sessionId, {
      pricePerSecond: s.price,
      probe: () => this.#probe(s),
      seq: s.seq,
      watchedSeconds: s.watchedSeconds,
      paused: s.paused !== undefined || !s.socket,
    });
  }

  /**
   * Whether the session is charged a second this round: media flowed to it and it is not on stage. On stage, all the
   * HLS media it was delivered is spent uncharged, so stepping down does not bill the stage time afterwards.
   */
  #probe(s: ViewerSession): boolean {
    if (this.#parts.onStage?.(s) !== true) return this.#flowed(s);
    s.hls.drain();
    return false;
  }

  /**
   * A voucher for a tick. Cheap checks only (a tick that was sent, exactly its amount, a signature of the right
   * shape); it becomes the session's newest received voucher. A session's first voucher is verified at once (no
   * second is served past the voucher grace on an unverified key); later ones in the next due round.
   */
  async acknowledge(s: ViewerSession, p: Payload<'tick:ack'>): Promise<{ acknowledged: string }> {
    const { metrics, enforcer } = this.#parts;
    if (p.seq === s.seq && s.tickSentAt > 0) {
      metrics.tickToVoucher.observe((performance.now() - s.tickSentAt) / 1000);
      s.tickSentAt = 0;
    }
    const owed = BigInt(p.owed);
    // Each tick adds exactly one price, so the amount a tick stood for follows from its distance to the last one.
    const expected = s.owed - BigInt(s.seq - p.seq) * s.price;
    if (p.seq < 1 || p.seq > s.seq || owed !== expected || p.signature.length !== ED25519_SIGNATURE_HEX_LENGTH) {
      metrics.vouchers.inc({ outcome: 'invalid' });
      throw new SignalingError('VOUCHER_INVALID', `voucher for tick ${p.seq} does not match what was sent`);
    }
    metrics.vouchers.inc({ outcome: 'received' });
    // Older than the verified one: nothing to gain, unless it may clear a bad signature.
    if (p.seq <= s.verifiedSeq && !s.voucherInvalid) return { acknowledged: s.acknowledged.toString() };
    this.#rounds.receive(s.sessionId, { seq: p.seq, owed, signature: p.signature, viewer: s });
    if (s.verifiedSeq === 0 || s.voucherInvalid) {
      // Unproven so far: verified now, and only a valid signature counts as received.
      await this.#rounds.flush(s.sessionId);
    } else if (p.seq > s.receivedSeq) {
      s.receivedSeq = p.seq;
      if (s.paused === 'voucher-lag') enforcer.enforce(s);
    }
    return { acknowledged: s.acknowledged.toString() };
  }

  /** Verifies and writes the session's waiting voucher now (a rejoin carries on from what it signed). */
  flushVouchers(sessionId: string): Promise<void> {
    return this.#rounds.flush(sessionId);
  }

  /**
   * Stops metering a session that ends: its round's write and its waiting voucher land first, then the HLS media it
   * was delivered and not charged yet is charged, so that leaving right after a burst of segments is not free.
   */
  async stop(s: ViewerSession): Promise<void> {
    this.meter.remove(s.sessionId);
    await this.#writing;
    await this.#rounds.flush(s.sessionId);
    await this.chargeUnmetered(s);
  }

  /**
   * Charges the HLS media a session was delivered and not metered yet (whole seconds, rounded up) as one tick record;
   * for a session that ends, or whose node shuts down (it may resume elsewhere from the ledger).
   */
  async chargeUnmetered(s: ViewerSession): Promise<void> {
    const unmetered = Math.ceil(s.hls.drain() - 1e-9);
    if (unmetered <= 0) return;
    const watchedSeconds = s.watchedSeconds + unmetered;
    const tick = { seq: s.seq + 1, watchedSeconds, owed: BigInt(watchedSeconds) * s.price };
    const recorded = await this.#ledger.recordTicks([{ sessionId: s.sessionId, ...tick }]);
    if (recorded.has(s.sessionId)) s.applyTick(tick);
    else this.#parts.log.warn({ sessionId: s.sessionId, unmetered }, 'could not charge undelivered HLS credit');
  }

  /**
   * A round's ticks could not be recorded (the ledger's database is away, or its write failed as a whole): none is
   * sent, and each viewer's count goes back to its last tick, so its next tick follows on. Media keeps flowing and
   * nobody is held: enforcement sees no new tick, so a viewer paid up stays paid up.
   */
  #unrecorded(ticks: readonly TickRecord[], err: unknown): void {
    // Why: a viewer must never be told it owes a second the ledger does not hold, nor be billed the outage in one
    // lump afterwards (a jump would trip its own voucher and settlement windows); the creator forgoes those seconds.
    for (const t of ticks) {
      const s = this.#parts.registry.get(t.sessionId);
      if (!s) continue;
      this.meter.rewind(t.sessionId, { seq: s.seq, watchedSeconds: s.watchedSeconds });
      // It was sent media this second (that is why it ticked): not idle.
      s.lastActiveAt = Date.now();
    }
    this.#parts.metrics.unrecordedTicks.inc(ticks.length);
    if (this.#outage) {
      this.#outage.rounds++;
      this.#outage.seconds += ticks.length;
      return;
    }
    this.#outage = { since: performance.now(), rounds: 1, seconds: ticks.length };
    this.#parts.log.error(
      { err, ticks: ticks.length },
      'could not record the round’s ticks: no tick is sent or charged until the ledger records again',
    );
  }

  /** Ticks were recorded and sent again after rounds that could not be: says so once. */
  #recordedAgain(): void {
    const outage = this.#outage;
    this.#outage = undefined;
    if (!outage) return;
    const { rounds, seconds } = outage;
    const ms = Math.round(performance.now() - outage.since);
    this.#parts.log.warn({ rounds, unchargedSeconds: seconds, ms }, 'ticks recorded again: metering resumed');
  }

  /** Stops the meter, the rounds (the newest voucher of every open session is written) and the settlement feed. */
  async close(): Promise<void> {
    this.#unsubscribe();
    await this.meter.close();
    await this.#writing;
    await this.#rounds.close();
  }

  #flowed(s: ViewerSession): boolean {
    if (s.mode === 'webrtc') return this.#flows.get(s.streamId)?.get(s.sessionId)?.flowing === true;
    // A replay is charged for the new seconds of its recording the edge delivered, with no live room behind it.
    if (s.mode === 'replay') return s.hls.take();
    const room = this.#parts.sfu.getRoom(s.streamId);
    return room !== undefined && room.hlsRelay !== undefined && room.producing && s.hls.take();
  }

  #deliver(sessionId: string, tick: { seq: number; watchedSeconds: number; owed: bigint }): void {
    const s = this.#parts.registry.get(sessionId);
    if (!s) return;
    s.applyTick(tick);
    this.#ticked.push(s);
    this.#earning.set(s.streamId, (this.#earning.get(s.streamId) ?? 0n) + s.price);
    this.#parts.metrics.ticks.inc();
    const socket = s.socket;
    if (!socket) return;
    s.tickSentAt = performance.now();
    // The answer to the vouchers so far rides on the tick: no second message per viewer-second.
    const hlsToken = this.#parts.enforcer.renewalFor(s);
    socket.emit('tick', {
      seq: tick.seq,
      watchedSeconds: tick.watchedSeconds,
      owed: tick.owed.toString(),
      acknowledged: s.acknowledged.toString(),
      ...(hlsToken ? { hlsToken } : {}),
    });
  }

  /** The chain credited a settlement of `sessionId`: its settled total is read back and enforcement runs. */
  #settled(sessionId: string): void {
    const s = this.#parts.registry.get(sessionId);
    if (!s) return;
    this.#ledger.session(sessionId).then(
      (row) => {
        if (!row || s.closed) return;
        const raised = s.applySettled(row.settledPending + row.settledFinal);
        const wasPaused = s.paused;
        this.#parts.enforcer.enforce(s);
        // A release already said payment:ok.
        if (raised && !(wasPaused && !s.paused)) s.socket?.emit('payment:ok', { settled: s.settled.toString() });
      },
      (err: unknown) => this.#parts.log.warn({ err, sessionId }, 'could not read a settled session'),
    );
  }
}
