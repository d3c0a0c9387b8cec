// The viewer's own record of what it actually saw: a tick is acknowledged only for seconds of media that played.
import type { Tick } from '@persecond/signaling/protocol';

/** What a tick charges: the part of it the meter checks. */
export type ChargedSecond = Pick<Tick, 'seq' | 'watchedSeconds' | 'owed'>;

/**
 * A progress sample from the player, at a wall-clock time: decoded frames (WebRTC), or for HLS the media time and how
 * far the received media reaches (live HLS plays a few seconds behind what arrived, and arrival is what the server
 * meters: both count).
 */
export interface ProgressSample {
  /** Wall-clock milliseconds. */
  at: number;
  /** Total video frames decoded so far (WebRTC). */
  framesDecoded?: number;
  /** Playback position in seconds (HLS). */
  mediaTime?: number;
  /** End of the media received into the player's buffer, in seconds (HLS). */
  bufferedEnd?: number;
}

/** Why a tick was not acknowledged. */
export type TickRefusal = 'NOT_SEEN' | 'WRONG_AMOUNT' | 'OUT_OF_ORDER';

/** Counts the wall-clock seconds in which media advanced, and checks the server's ticks against them. */
export class WatchMeter {
  #seenSeconds = new Set<number>();
  #last: ProgressSample | undefined;
  #lastSeq = -1;
  #acknowledgedOwed = 0n;
  /** Seconds watched before this meter started (a resumed session). */
  #base = 0;

  constructor(
    /** The stream's price per second, in planck. */
    readonly pricePerSecond: bigint,
  ) {}

  /** Seconds in which the player showed new media. */
  get seenSeconds(): number {
    return this.#base + this.#seenSeconds.size;
  }

  /** Highest amount acknowledged so far. */
  get acknowledgedOwed(): bigint {
    return this.#acknowledgedOwed;
  }

  /**
   * Carries on a session metered before (another visit): the server continues from its last tick, and the seconds
   * it counted then were seen by the earlier page.
   */
  resumeAt(standing: { seq: number; watchedSeconds: number; acknowledged: bigint }): void {
    this.#lastSeq = Math.max(this.#lastSeq, standing.seq);
    this.#base = standing.watchedSeconds;
    if (standing.acknowledged > this.#acknowledgedOwed) this.#acknowledgedOwed = standing.acknowledged;
  }

  /** Records a player sample; a second counts once the media advanced during it. */
  observe(sample: ProgressSample): void {
    const prev = this.#last;
    this.#last = sample;
    if (!prev || sample.at <= prev.at) return;
    const advanced =
      (sample.framesDecoded !== undefined &&
        prev.framesDecoded !== undefined &&
        sample.framesDecoded > prev.framesDecoded) ||
      (sample.mediaTime !== undefined && prev.mediaTime !== undefined && sample.mediaTime > prev.mediaTime) ||
      (sample.bufferedEnd !== undefined && prev.bufferedEnd !== undefined && sample.bufferedEnd > prev.bufferedEnd);
    if (advanced) this.#seenSeconds.add(Math.floor(sample.at / 1000));
  }

  /** Checks a tick: in order, charging exactly watchedSeconds × price, for no more seconds than were seen. */
  check(tick: ChargedSecond): TickRefusal | undefined {
    if (tick.seq <= this.#lastSeq) return 'OUT_OF_ORDER';
    if (BigInt(tick.owed) !== BigInt(tick.watchedSeconds) * this.pricePerSecond) return 'WRONG_AMOUNT';
    if (tick.watchedSeconds > this.seenSeconds) return 'NOT_SEEN';
    return undefined;
  }

  /** Records that `tick` was acknowledged (call after a successful `check`). */
  acknowledge(tick: ChargedSecond): void {
    this.#lastSeq = tick.seq;
    const owed = BigInt(tick.owed);
    if (owed > this.#acknowledgedOwed) this.#acknowledgedOwed = owed;
  }
}
