import { type ChainClient, ContractsClientError } from '@persecond/contracts-client';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { SignalingError } from '../errors.ts';
import { DependencyAvailability } from './Availability.ts';
import { type DependencyModule, dependencyModule } from './dependencyModule.ts';

/** When a client may try again a request refused because the chain node is away. */
export const CHAIN_RETRY_AFTER_MS = 3_000;

/** The refusal of a request that needed the chain while its node cannot be reached: retryable, not INTERNAL. */
export function chainUnavailable(): SignalingError {
  return new SignalingError('CHAIN_UNAVAILABLE', 'the blockchain cannot be reached right now; try again shortly', {
    retryAfterMs: String(CHAIN_RETRY_AFTER_MS),
  });
}

/** polkadot-js' messages for a WebSocket that is down, dropped or silent (they carry no code). */
const LOST_CHAIN =
  /WebSocket is not connected|disconnected from |No response received from RPC endpoint|Abnormal Closure/;

/** Whether a chain read failed because the chain node could not be reached (rather than the chain refusing it). */
export function isChainUnreachable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof ContractsClientError && e.code === 'CHAIN_UNAVAILABLE') return true;
    if (e instanceof Error && LOST_CHAIN.test(e.message)) return true;
  }
  return false;
}

/** Probe periods: one light RPC call (the finalized head) every few seconds, every second while away. */
const PROBE = { upMs: 3_000, downMs: 1_000, timeoutMs: 5_000 };

/**
 * Watches the node's chain client: the WebSocket dropping marks the chain unreachable at once, its reconnection is
 * probed at once, and a light RPC call with a deadline sees a node that keeps the socket but answers nothing. Reported
 * on `/healthz` as `modules.chain`.
 */
export function watchChain(chain: ChainClient, registry: Registry, log: Logger): DependencyModule {
  const { api } = chain;
  const availability = new DependencyAvailability('chain', {
    ...PROBE,
    probe: () => api.rpc.chain.getFinalizedHead(),
  });
  const onDisconnected = () => availability.failed(new Error('chain WebSocket disconnected'));
  const onConnected = () => availability.probeNow();
  api.on('disconnected', onDisconnected);
  api.on('connected', onConnected);
  if (!api.isConnected) availability.failed(new Error('chain WebSocket disconnected'));
  return dependencyModule('chain', availability, registry, log.child({ part: 'chain' }), () => {
    api.off('disconnected', onDisconnected);
    api.off('connected', onConnected);
  });
}
