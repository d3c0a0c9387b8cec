// The per-second acknowledgement: each tick the server sends is checked against what the player showed (WatchMeter)
// and, once seen, answered with a voucher the session key signs. A tick not seen yet waits for the sampler.
import type { SessionStanding, Tick } from '@persecond/signaling/protocol';
import { type ProgressSample, WatchMeter } from './meter.ts';
import { type SessionKey, signWithSessionKey } from './sessionKey.ts';
import { voucherMessage } from './voucher.ts';

/** How often the player is sampled. */
const SAMPLE_MS = 250;

/** What a voucher binds besides the tick. */
export interface VoucherScope {
  key: SessionKey;
  genesisHash: string;
  streamId: string;
  sessionId: string;
}

/** What the loop asks of its session. */
export interface VoucherHooks {
  /** Kept before the voucher is sent: after a crash, the next visit knows what the server may count (at most this). */
  signing(tick: Tick): void;
  /** Sends the voucher; false when it could not go (disconnected: the next voucher covers it, vouchers are cumulative). */
  send(voucher: { seq: number; owed: string; signature: `0x${string}` }): boolean;
  /** A voucher went out for `tick`. */
  acknowledged(tick: Tick): void;
}

/** Checks ticks against what was seen and answers them with signed vouchers. */
export class VoucherLoop {
  #meter: WatchMeter;
  #pendingTick: Tick | undefined;
  #sampler: ReturnType<typeof setInterval> | undefined;
  /** The meter has not met the server's standing yet (a session from an earlier visit carries on from it). */
  #fresh = true;
  /** The tick the last voucher went out for. */
  lastAckSeq = 0;

  constructor(
    private readonly scope: VoucherScope,
    price: bigint,
    private readonly hooks: VoucherHooks,
  ) {
    this.#meter = new WatchMeter(price);
  }

  /**
   * The first admission of this page: a session from an earlier visit carries on where the server's ledger stands.
   * Returns whether it did (later admissions, i.e. rejoins, keep this page's own count).
   */
  carryOn(standing: SessionStanding): boolean {
    if (!this.#fresh) return false;
    this.#fresh = false;
    if (!standing.resumed) return false;
    this.#meter.resumeAt({
      seq: standing.seq,
      watchedSeconds: standing.watchedSeconds,
      acknowledged: BigInt(standing.acknowledged),
    });
    this.lastAckSeq = standing.seq;
    return true;
  }

  /** Samples the player every SAMPLE_MS; a waiting tick is acknowledged once its seconds were seen. */
  start(sample: () => Promise<Omit<ProgressSample, 'at'>>): void {
    this.stop();
    this.#sampler = setInterval(async () => {
      this.#meter.observe({ at: Date.now(), ...(await sample()) });
      const waiting = this.#pendingTick;
      if (waiting && !this.#meter.check(waiting)) this.onTick(waiting);
    }, SAMPLE_MS);
  }

  /** Stops sampling; safe to call twice. */
  stop(): void {
    clearInterval(this.#sampler);
    this.#sampler = undefined;
  }

  /** A tick from the server: acknowledged if seen, kept for the sampler if not yet, ignored if wrong. */
  onTick(tick: Tick): void {
    const refusal = this.#meter.check(tick);
    if (refusal === 'NOT_SEEN') {
      this.#pendingTick = tick;
      return;
    }
    if (refusal) return;
    this.#pendingTick = undefined;
    this.#meter.acknowledge(tick);
    const { key, genesisHash, streamId, sessionId } = this.scope;
    const signature = signWithSessionKey(
      key,
      voucherMessage({ genesisHash, streamId, sessionId, seq: tick.seq, owed: BigInt(tick.owed) }),
    );
    this.hooks.signing(tick);
    if (!this.hooks.send({ seq: tick.seq, owed: tick.owed, signature })) return;
    this.lastAckSeq = tick.seq;
    this.hooks.acknowledged(tick);
  }

  /** Seconds the player showed new media (this page's, plus those of an earlier visit it carries on). */
  get seenSeconds(): number {
    return this.#meter.seenSeconds;
  }
}
