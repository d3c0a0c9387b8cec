import { ledgerUnavailable, type SignalingError } from '../errors.ts';
import { isDatabaseUnreachable } from '../ledger/availability.ts';
import { chainUnavailable, isChainUnreachable } from './chainDependency.ts';
import { isRedisUnreachable, redisUnavailable } from './redisDependency.ts';

/**
 * The stable, retryable refusal for a failure caused by a dependency being away (Redis, the chain node, the ledger's
 * database): REDIS_UNAVAILABLE, CHAIN_UNAVAILABLE or LEDGER_UNAVAILABLE; undefined for any other failure.
 */
export function dependencyRefusal(err: unknown): SignalingError | undefined {
  if (isRedisUnreachable(err)) return redisUnavailable();
  if (isChainUnreachable(err)) return chainUnavailable();
  if (isDatabaseUnreachable(err)) return ledgerUnavailable();
  return undefined;
}
