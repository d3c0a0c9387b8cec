import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  ErrorReply,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from 'redis';
import { SignalingError } from '../errors.ts';
import type { RedisClient } from '../SignalingContext.ts';
import { DependencyAvailability } from './Availability.ts';
import { type DependencyModule, dependencyModule } from './dependencyModule.ts';

/** When a client may try again a request refused because Redis is away. */
export const REDIS_RETRY_AFTER_MS = 2_000;

/** How long a directory operation waits for Redis before it is refused (a frozen server answers nothing). */
export const REDIS_DEADLINE_MS = 3_000;

/** The refusal of a request that needed Redis while it cannot be reached: retryable, not INTERNAL. */
export function redisUnavailable(): SignalingError {
  return new SignalingError('REDIS_UNAVAILABLE', 'the shared state of the nodes cannot be reached; try again shortly', {
    retryAfterMs: String(REDIS_RETRY_AFTER_MS),
  });
}

/** Thrown by `guardRedis` when Redis did not answer in time or is known to be away. */
class RedisDeadlineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisDeadlineError';
  }
}

/** Replies of a Redis server that is starting (loading its data) or read-only after a failover. */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|READONLY)\b/;

/**
 * Whether a Redis operation failed because Redis could not be reached (connection lost or refused, no answer in time,
 * still loading its data) rather than refusing the operation.
 */
export function isRedisUnreachable(err: unknown): boolean {
  if (err instanceof ErrorReply) return UNAVAILABLE_REPLY.test(err.message);
  return (
    err instanceof RedisDeadlineError ||
    err instanceof SocketClosedUnexpectedlyError ||
    err instanceof ClientClosedError ||
    err instanceof ClientOfflineError ||
    err instanceof ConnectionTimeoutError ||
    err instanceof SocketTimeoutError ||
    err instanceof ReconnectStrategyError ||
    err instanceof TimeoutError
  );
}

/**
 * Runs a Redis operation that a client request waits for: refused at once while Redis is known to be away, and
 * after `REDIS_DEADLINE_MS` without an answer (the command itself still runs when Redis comes back: only the wait ends).
 */
export async function guardRedis<T>(
  availability: DependencyAvailability | undefined,
  op: () => Promise<T>,
): Promise<T> {
  if (availability && !availability.available) throw new RedisDeadlineError('redis is unreachable');
  const running = op();
  // Answered after the deadline or not at all: nobody waits for it any more.
  running.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    // After the I/O of the same loop turn: an answer that came while the event loop was busy is not "no answer".
    const fail = () => reject(new RedisDeadlineError(`redis: no answer in ${REDIS_DEADLINE_MS} ms`));
    timer = setTimeout(() => setImmediate(fail), REDIS_DEADLINE_MS);
  });
  try {
    return await Promise.race([running, deadline]);
  } catch (err) {
    if (availability && isRedisUnreachable(err)) availability.failed(err);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Probe periods: Redis is cheap to ask, and a frozen server is seen within a probe and its deadline. */
const PROBE = { upMs: 1_000, downMs: 500, timeoutMs: 2_000 };

/**
 * Watches the node's Redis client: its connection events (an error or a reconnect marks Redis unreachable, a ready
 * connection is probed at once) and a PING with a deadline, which sees a server that keeps the connection but answers
 * nothing (stopped, overloaded). Reported on `/healthz` as `modules.redis`.
 */
export function watchRedis(redis: RedisClient, registry: Registry, log: Logger): DependencyModule {
  const availability = new DependencyAvailability('redis', { ...PROBE, probe: () => redis.ping() });
  const onError = (err: unknown) => availability.failed(err);
  const onReconnecting = () => availability.failed(new Error('connection lost; reconnecting'));
  const onEnd = () => availability.failed(new Error('connection closed'));
  const onReady = () => availability.probeNow();
  redis.on('error', onError);
  redis.on('reconnecting', onReconnecting);
  redis.on('end', onEnd);
  redis.on('ready', onReady);
  return dependencyModule('redis', availability, registry, log.child({ part: 'redis' }), () => {
    redis.off('error', onError);
    redis.off('reconnecting', onReconnecting);
    redis.off('end', onEnd);
    redis.off('ready', onReady);
  });
}
