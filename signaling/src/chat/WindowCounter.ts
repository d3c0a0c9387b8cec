import { INCR_WINDOW } from '../auth/signInLimitStore.ts';
import type { DependencyAvailability } from '../dependencies/Availability.ts';
import { guardRedis } from '../dependencies/redisDependency.ts';
import type { RedisClient } from '../SignalingContext.ts';

/**
 * Fixed-window counters by key: `take` counts one hit and answers 0 while the key stays within `max` hits of its
 * window, else the milliseconds until the window ends. The first hit of a window starts it.
 */
export interface WindowCounter {
  take(key: string, max: number, windowMs: number): Promise<number>;
  /** Forgets every window (Redis keys expire by themselves); safe to call twice. */
  close(): void;
}

/** Memory entries above which a take sweeps out ended windows first, once a second at most (no timer: lazy). */
const SWEEP_ABOVE = 10_000;

/** Counters of this node only. */
export class MemoryWindowCounter implements WindowCounter {
  readonly #windows = new Map<string, { hits: number; endsAt: number }>();
  #sweptAt = 0;

  async take(key: string, max: number, windowMs: number): Promise<number> {
    return this.takeNow(key, max, windowMs);
  }

  /** `take` without a promise, for hot paths (reactions). */
  takeNow(key: string, max: number, windowMs: number): number {
    const now = Date.now();
    // At most one sweep a second: with more live windows than SWEEP_ABOVE, not one per take.
    if (this.#windows.size > SWEEP_ABOVE && now - this.#sweptAt >= 1_000) {
      this.#sweptAt = now;
      for (const [k, w] of this.#windows) if (w.endsAt <= now) this.#windows.delete(k);
    }
    let w = this.#windows.get(key);
    if (!w || w.endsAt <= now) {
      w = { hits: 0, endsAt: now + windowMs };
      this.#windows.set(key, w);
    }
    w.hits++;
    return w.hits <= max ? 0 : w.endsAt - now;
  }

  close(): void {
    this.#windows.clear();
  }
}

/**
 * Counters shared by every node on the node's Redis client (keys `<prefix><key>`, expiring with their window). While
 * Redis is away (`availability`) or silent, a take fails (REDIS_UNAVAILABLE) rather than leaving the request waiting.
 */
export class RedisWindowCounter implements WindowCounter {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly availability?: DependencyAvailability,
  ) {}

  async take(key: string, max: number, windowMs: number): Promise<number> {
    const counted = () =>
      this.redis.eval(INCR_WINDOW, { keys: [`${this.prefix}${key}`], arguments: [String(windowMs)] });
    const reply = await guardRedis(this.availability, counted);
    const [hits, ttl] = reply as [number, number];
    if (hits <= max) return 0;
    return ttl > 0 ? ttl : windowMs;
  }

  close(): void {}
}
