import { ApiPromise, WsProvider } from '@polkadot/api';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { ContractsClientError } from '../errors.ts';

/** Chain calls Persecond needs; a chain lacking one is refused with CHAIN_UNSUPPORTED. */
export const REQUIRED_CALLS = [
  'balances.transferKeepAlive',
  'balances.transferAll',
  'utility.batchAll',
  'system.remarkWithEvent',
] as const;

/** Facts read once at connect time. */
export interface ChainFacts {
  readonly genesisHash: string;
  readonly chainName: string;
  readonly specName: string;
  readonly specVersion: number;
  readonly decimals: number;
  readonly symbol: string;
  readonly existentialDeposit: bigint;
  /** Address format the chain advertises to wallets (system_properties), else the runtime's SS58Prefix. */
  readonly ss58: number;
  /** Whether the assets pallet's transfer calls exist (asset-priced streams). */
  readonly hasAssets: boolean;
  /** Every `section.method` call the runtime offers. */
  readonly calls: ReadonlySet<string>;
}

/** Options for connect(). */
export interface ConnectOptions {
  /** Override the address format used when formatting addresses. */
  ss58?: number;
  /** Milliseconds between reconnect attempts after a WebSocket drop (default 1000). */
  reconnectMs?: number;
  /** Per-request timeout: an RPC call with no answer after this many milliseconds fails (default 15000). */
  timeoutMs?: number;
  /** Extra `section.method` calls the caller needs besides REQUIRED_CALLS. */
  requireCalls?: readonly string[];
}

/** A live connection to a chain; `api` reconnects by itself after drops. */
export interface ChainClient {
  readonly api: ApiPromise;
  readonly facts: ChainFacts;
  /** Closes the watchers and submitters built on it, then disconnects; safe to call twice. */
  close(): Promise<void>;
}

interface Closable {
  close(): unknown;
}

const children = new WeakMap<ApiPromise, Set<Closable>>();

/** Registers a resource built on `api` (watcher, submitter) so that closing its ChainClient closes it first. */
export function trackChild(api: ApiPromise, child: Closable): void {
  let set = children.get(api);
  if (!set) {
    set = new Set();
    children.set(api, set);
  }
  set.add(child);
}

/** Forgets a resource closed on its own. */
export function untrackChild(api: ApiPromise, child: Closable): void {
  children.get(api)?.delete(child);
}

/** Connects to `wsUrl`, reads the chain facts once and checks the calls Persecond needs exist. */
export async function connect(wsUrl: string, opts: ConnectOptions = {}): Promise<ChainClient> {
  await cryptoWaitReady();
  // Cache off: the provider caches the promise of every by-block-hash call, including ones rejected by a drop,
  // which would then fail forever after reconnecting.
  const provider = new WsProvider(wsUrl, opts.reconnectMs ?? 1000, {}, opts.timeoutMs ?? 15_000, 0);
  let api: ApiPromise;
  try {
    api = await ApiPromise.create({ provider, noInitWarn: true, throwOnConnect: true });
  } catch (err) {
    await provider.disconnect().catch(() => undefined);
    throw new ContractsClientError('CHAIN_UNAVAILABLE', `cannot connect to ${wsUrl}: ${(err as Error).message}`);
  }
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      const own = [...(children.get(api) ?? [])];
      children.delete(api);
      await Promise.allSettled(own.map(async (c) => c.close()));
      await api.disconnect().catch(() => undefined);
    })();
    return closed;
  };
  try {
    const facts = await readFacts(api, opts.ss58);
    // Make the api's own address formatting (AccountId.toString(), toHuman) agree with facts.ss58: the dev runtime's
    // SS58Prefix constant (2) would otherwise win over the advertised 42.
    if (api.registry.chainSS58 !== facts.ss58) {
      const props = api.registry.getChainProperties();
      api.registry.setChainProperties(
        api.registry.createType('ChainProperties', { ...(props?.toJSON() ?? {}), ss58Format: facts.ss58 }),
      );
    }
    const missing = [...REQUIRED_CALLS, ...(opts.requireCalls ?? [])].filter((c) => !facts.calls.has(c));
    if (missing.length > 0) {
      throw new ContractsClientError('CHAIN_UNSUPPORTED', `chain lacks required calls: ${missing.join(', ')}`, {
        missing,
      });
    }
    return { api, facts, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Reads genesis hash, token, existential deposit, address format and the call list. */
export async function readFacts(api: ApiPromise, ss58Override?: number): Promise<ChainFacts> {
  const [properties, chainName] = await Promise.all([api.rpc.system.properties(), api.rpc.system.chain()]);
  const calls = listCalls(api);
  const advertised = properties.ss58Format.isSome ? properties.ss58Format.unwrap().toNumber() : undefined;
  const ed = api.consts.balances?.existentialDeposit;
  return {
    genesisHash: api.genesisHash.toHex(),
    chainName: chainName.toString(),
    specName: api.runtimeVersion.specName.toString(),
    specVersion: api.runtimeVersion.specVersion.toNumber(),
    decimals: api.registry.chainDecimals[0] ?? 0,
    symbol: api.registry.chainTokens[0] ?? '',
    existentialDeposit: ed ? ed.toBigInt() : 0n,
    ss58: ss58Override ?? advertised ?? api.registry.chainSS58 ?? 42,
    hasAssets: hasAssetCalls(calls),
    calls,
  };
}

/** Every `section.method` call the runtime of `api` offers. */
export function listCalls(api: ApiPromise): Set<string> {
  const calls = new Set<string>();
  for (const [section, methods] of Object.entries(api.tx)) {
    for (const method of Object.keys(methods)) calls.add(`${section}.${method}`);
  }
  return calls;
}

/** Whether the assets pallet's transfer calls are among `calls` (asset-priced streams possible). */
export function hasAssetCalls(calls: ReadonlySet<string>): boolean {
  return calls.has('assets.transferKeepAlive') && calls.has('assets.transfer');
}
