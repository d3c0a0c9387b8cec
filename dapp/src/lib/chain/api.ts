// One shared connection to the chain (browser only): @polkadot/api is loaded on first use.
import type { ApiPromise } from '@polkadot/api';
import { config } from '../config.ts';
import { UserFacingError } from '../errors.ts';
import { isDevChain } from './devChain.ts';

import type { AssetRef, TokenInfo } from './types.ts';

export type { AssetRef, TokenInfo } from './types.ts';

let apiPromise: Promise<ApiPromise> | undefined;

/** The shared chain connection; rejects with a readable error when the chain cannot be reached. */
export function chainApi(): Promise<ApiPromise> {
  apiPromise ??= (async () => {
    const { ApiPromise, WsProvider } = await import('@polkadot/api');
    const provider = new WsProvider(config.PUBLIC_CHAIN_WS_URL, 2_500);
    try {
      return await ApiPromise.create({ provider, throwOnConnect: true, noInitWarn: true });
    } catch {
      await provider.disconnect().catch(() => undefined);
      throw new UserFacingError(
        'CHAIN_UNAVAILABLE',
        'The blockchain cannot be reached right now. Please try again shortly.',
      );
    }
  })();
  // A failed attempt is forgotten so the next call retries.
  apiPromise.catch(() => {
    apiPromise = undefined;
  });
  return apiPromise;
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
