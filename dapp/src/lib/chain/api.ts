// One shared connection to the chain (browser only), made by contracts-client's `connect` on first use.
import type { Balance, ChainClient, TxSubmitter } from '@persecond/contracts-client/browser';
import type { ApiPromise } from '@polkadot/api';
import { config } from '../config.ts';
import { UserFacingError } from '../errors.ts';
import { isDevChain } from './devChain.ts';

import type { AssetRef, TokenInfo } from './types.ts';

export type { AssetRef, TokenInfo } from './types.ts';

let clientPromise: Promise<ChainClient> | undefined;
let submitterOf: { api: ApiPromise; submitter: TxSubmitter } | undefined;

/** The shared chain connection (contracts-client `connect`: facts read once); rejects with a readable error. */
export function chainClient(): Promise<ChainClient> {
  clientPromise ??= (async () => {
    const { connect } = await import('@persecond/contracts-client/browser');
    try {
      return await connect(config.PUBLIC_CHAIN_WS_URL, { reconnectMs: 2_500 });
    } catch {
      throw new UserFacingError(
        'CHAIN_UNAVAILABLE',
        'The blockchain cannot be reached right now. Please try again shortly.',
      );
    }
  })();
  // A failed attempt is forgotten so the next call retries.
  clientPromise.catch(() => {
    clientPromise = undefined;
  });
  return clientPromise;
}

/** The shared chain connection's api. */
export async function chainApi(): Promise<ApiPromise> {
  return (await chainClient()).api;
}

/** What `address` holds of `asset` and can move now (contracts-client `getBalance`: frozen and minimums kept). */
export async function balanceOf(address: string, asset: AssetRef): Promise<Balance> {
  const { getBalance } = await import('@persecond/contracts-client/browser');
  return getBalance(await chainClient(), address, asset);
}

/** The shared transaction submitter (contracts-client `TxSubmitter`: one nonce queue per signing account). */
export async function txSubmitter(): Promise<TxSubmitter> {
  const api = await chainApi();
  if (submitterOf?.api !== api) {
    const { TxSubmitter: Submitter } = await import('@persecond/contracts-client/browser');
    submitterOf = { api, submitter: new Submitter(api) };
  }
  return submitterOf.submitter;
}

/** Whether the connected chain is the local dev chain. */
export async function connectedToDevChain(api: ApiPromise): Promise<boolean> {
  const methods = await api.rpc.rpc.methods();
  return isDevChain(api.genesisHash.toHex(), methods.methods.map(String));
}

const tokenCache = new Map<string, Promise<TokenInfo>>();

/** Symbol and decimals of `asset`, read from the chain once. */
export function tokenInfo(asset: AssetRef): Promise<TokenInfo> {
  const key = String(asset);
  let p = tokenCache.get(key);
  if (!p) {
    p = (async () => {
      const api = await chainApi();
      if (asset === 'native')
        return { symbol: api.registry.chainTokens[0] ?? 'UNIT', decimals: api.registry.chainDecimals[0] ?? 12 };
      const md = await api.query.assets.metadata(asset);
      return { symbol: md.symbol.toUtf8() || `#${asset}`, decimals: md.decimals.toNumber() };
    })();
    p.catch(() => tokenCache.delete(key));
    tokenCache.set(key, p);
  }
  return p;
}
