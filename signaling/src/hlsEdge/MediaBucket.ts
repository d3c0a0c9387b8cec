/** Media seconds a bucket regains per wall-clock second: one player watching in real time. */
export const REFILL_PER_SECOND = 1;

/**
 * A token bucket in media seconds: starts full at `capacity`, regains `REFILL_PER_SECOND` per wall second, and each
 * delivery spends its duration. What it lets through from `start` to `now` is at most
 * `capacity + (now − start) × REFILL_PER_SECOND` media seconds, however the requests are spread.
 */
export class MediaBucket {
  #level: number;
  #at: number;

  constructor(
    /** Most media seconds it holds (a player's live start buffer). */
    readonly capacity: number,
    now: number,
  ) {
    this.#level = capacity;
    this.#at = now;
  }

  /** Media seconds available at `now` (ms since epoch). */
  level(now: number): number {
    return Math.min(this.capacity, this.#level + (Math.max(0, now - this.#at) / 1000) * REFILL_PER_SECOND);
  }

  /** True when it holds its capacity again (forgetting it then loses nothing: a new one starts full). */
  full(now: number): boolean {
    return this.level(now) >= this.capacity;
  }

  /** Ms from `now` until `seconds` are available (0: they are). */
  wait(seconds: number, now: number): number {
    const level = this.level(now);
    return level >= seconds ? 0 : Math.ceil(((seconds - level) / REFILL_PER_SECOND) * 1000);
  }

  /** Spends `seconds` if available at `now` and answers 0; else spends nothing and answers the ms until they are. */
  take(seconds: number, now: number): number {
    const wait = this.wait(seconds, now);
    if (wait > 0) return wait;
    this.#level = this.level(now) - seconds;
    this.#at = Math.max(now, this.#at);
    return 0;
  }
}
