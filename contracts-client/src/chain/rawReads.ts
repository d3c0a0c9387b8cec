import type { ApiPromise } from '@polkadot/api';
import type { ProviderInterface } from '@polkadot/rpc-provider/types';
import type { EventRecord, Header, SignedBlock } from '@polkadot/types/interfaces';

// Reads by block hash go straight to the provider on purpose: rpc-core memoizes by-hash calls (and their per-block
// registry lookups), and a call that failed while the WebSocket was down keeps replaying that failure after the
// reconnect. Decoding uses the connection's current registry (the runtime at connect time).

function send(api: ApiPromise, method: string, params: unknown[]): Promise<unknown> {
  const provider = (api as unknown as { _rpcCore: { provider: ProviderInterface } })._rpcCore.provider;
  return provider.send(method, params).catch((err: Error) => {
    throw new Error(`${method}(${params.join(',')}): ${err.message}`);
  });
}

/** Header of `hash`, or of the best block when omitted. */
export async function readHeader(api: ApiPromise, hash?: string): Promise<Header> {
  const json = await send(api, 'chain_getHeader', hash === undefined ? [] : [hash]);
  if (json === null) throw new Error(`unknown block ${hash}`);
  return api.registry.createType('Header', json);
}

/** Hash of the finalized head. */
export async function readFinalizedHash(api: ApiPromise): Promise<string> {
  return String(await send(api, 'chain_getFinalizedHead', []));
}

/** Block `hash` with its extrinsics. */
export async function readBlock(api: ApiPromise, hash: string): Promise<SignedBlock> {
  const json = await send(api, 'chain_getBlock', [hash]);
  if (json === null) throw new Error(`unknown block ${hash}`);
  return api.registry.createType('SignedBlock', json);
}

/** The event records of block `hash`. */
export async function readEvents(api: ApiPromise, hash: string): Promise<EventRecord[]> {
  const data = await send(api, 'state_getStorage', [api.query.system.events.key(), hash]);
  return [...api.registry.createType('Vec<EventRecord>', data ?? '0x00')];
}
