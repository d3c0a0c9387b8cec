import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { createClient } from 'redis';
import { SignalingError } from '../errors.ts';

/** How many streams a wallet may create per window. */
export interface CreationLimitOptions {
  max: number;
  windowSeconds: number;
  /** Shared by every node (keys under `prefix`); absent: this node counts alone. */
  redis?: { client: ReturnType<typeof createClient>; prefix: string };
}

/** Counts stream creations per wallet; `take` spends one or throws RATE_LIMITED with `retryAfterMs`. */
export class CreationLimit {
  readonly #limiter: RateLimiterMemory | RateLimiterRedis;

  constructor(opts: CreationLimitOptions) {
    const common = { points: opts.max, duration: opts.windowSeconds };
    this.#limiter = opts.redis
      ? new RateLimiterRedis({
          ...common,
          storeClient: opts.redis.client,
          useRedisPackage: true,
          keyPrefix: `${opts.redis.prefix}create`,
        })
      : new RateLimiterMemory(common);
  }

  /** Spends one creation of `wallet` (its canonical address). */
  async take(wallet: string): Promise<void> {
    try {
      await this.#limiter.consume(wallet);
    } catch (err) {
      // The limiter rejects with its result when the wallet is over; anything else is a store failure.
      if (!(err instanceof RateLimiterRes)) throw err;
      throw new SignalingError('RATE_LIMITED', 'too many streams created; try again later', {
        retryAfterMs: String(err.msBeforeNext),
      });
    }
  }
}
