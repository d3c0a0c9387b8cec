import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { DependencyAvailability } from '../dependencies/Availability.ts';
import { guardRedis } from '../dependencies/redisDependency.ts';
import type { RedisClient } from '../SignalingContext.ts';

/** Lua: counts one hit in a fixed window per key (the first hit starts its expiry); answers {hits, pttl}. */
export const INCR_WINDOW = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {current, redis.call('PTTL', KEYS[1])}
`;

/**
 * A @fastify/rate-limit store on the node's Redis client (node-redis; the plugin's own Redis store wants ioredis), so
 * a client's sign-in attempts are counted across every node of a deployment. Keys: `<prefix><route>:<client>`. While
 * Redis is away (`availability`) or silent, the count fails (REDIS_UNAVAILABLE) rather than leaving the request waiting.
 */
export function redisRateLimitStore(
  redis: RedisClient,
  prefix: string,
  availability?: DependencyAvailability,
): FastifyRateLimitStoreCtor {
  class RedisRateLimitStore implements FastifyRateLimitStore {
    constructor(
      _options: unknown,
      private readonly keyPrefix = prefix,
    ) {}

    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ): void {
      const counted = () =>
        redis.eval(INCR_WINDOW, { keys: [`${this.keyPrefix}${key}`], arguments: [String(timeWindow)] });
      guardRedis(availability, counted).then(
        (reply) => {
          const [current, ttl] = reply as [number, number];
          callback(null, { current, ttl: ttl > 0 ? ttl : timeWindow });
        },
        (err: Error) => callback(err),
      );
    }

    // Each route counts on its own, as the plugin's stores do; the plugin passes the route as `routeInfo` (its
    // typings say otherwise).
    child(params: unknown): FastifyRateLimitStore {
      const route = (params as { routeInfo?: { url?: string } }).routeInfo?.url ?? 'route';
      return new RedisRateLimitStore(undefined, `${this.keyPrefix}${route}:`);
    }
  }
  return RedisRateLimitStore;
}
