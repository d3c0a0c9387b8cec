import { ApiPromise, Keyring, WsProvider } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { KeyringPair } from '@polkadot/keyring/types';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { DEV_ACCOUNTS, DEV_ASSET, DEV_ASSET_ENDOWMENT, DEV_NATIVE_ENDOWMENT } from './accounts.ts';
import { loadDevChainGenesis } from './genesis.ts';

/** Options for the embedded dev chain. */
export interface DevChainOptions {
  /** TCP port for the JSON-RPC WebSocket; 0 (default) picks a free one. A busy fixed port becomes port+1. */
  port?: number;
  /** Block production: `Instant` (a block per extrinsic, default), `Batch`, or `Manual` (`dev_newBlock`). */
  mode?: 'Instant' | 'Batch' | 'Manual';
  /** Native planck each dev account starts with. */
  endowment?: bigint;
  /** Create and mint the dev asset (default true). */
  createAsset?: boolean;
}

/** A running dev chain: chopsticks executing the real Rococo Asset Hub runtime. */
export interface DevChain {
  /** `ws://127.0.0.1:<port>` */
  readonly wsUrl: string;
  readonly port: number;
  readonly accounts: typeof DEV_ACCOUNTS;
  readonly asset: typeof DEV_ASSET;
  /** Stops the server and chopsticks' WASM worker thread; safe to call twice. */
  close(): Promise<void>;
}

type Chopsticks = typeof import('@acala-network/chopsticks');

let chopsticks: Promise<Chopsticks> | undefined;

/** Loads chopsticks once; its logger reads LOG_LEVEL at import time, so quieten it to warnings unless asked. */
function loadChopsticks(): Promise<Chopsticks> {
  chopsticks ??= (async () => {
    const saved = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = process.env.CHOPSTICKS_LOG_LEVEL ?? 'warn';
    try {
      return await import('@acala-network/chopsticks');
    } finally {
      if (saved === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = saved;
    }
  })();
  return chopsticks;
}

let liveChains = 0;

/** Submits a transaction and resolves when it is in a block; rejects with the decoded dispatch error. */
function submitInBlock(
  api: ApiPromise,
  tx: SubmittableExtrinsic<'promise'>,
  signer: KeyringPair,
  sealBlock: boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.signAndSend(signer, { nonce: -1 }, ({ status, dispatchError }) => {
      if (dispatchError) {
        const detail = dispatchError.isModule ? api.registry.findMetaError(dispatchError.asModule) : undefined;
        reject(new Error(detail ? `${detail.section}.${detail.name}` : dispatchError.toString()));
      } else if (status.isInBlock || status.isFinalized) {
        resolve();
      }
    })
      .then(async () => {
        // Outside Instant mode nothing seals a block by itself.
        if (sealBlock) await api.rpc('dev_newBlock' as never);
      })
      .catch(reject);
  });
}

/** Creates the dev asset with metadata and mints it to every dev account, in one batch signed by Alice. */
async function createDevAsset(wsUrl: string, sealBlock: boolean): Promise<void> {
  await cryptoWaitReady();
  const api = await ApiPromise.create({ provider: new WsProvider(wsUrl), noInitWarn: true, throwOnConnect: true });
  try {
    const alice = new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri('//Alice');
    const { id, name, symbol, decimals, minBalance } = DEV_ASSET;
    await submitInBlock(
      api,
      api.tx.utility.batchAll([
        api.tx.assets.create(id, alice.address, minBalance),
        api.tx.assets.setMetadata(id, name, symbol, decimals),
        ...Object.values(DEV_ACCOUNTS).map((who) => api.tx.assets.mint(id, who, DEV_ASSET_ENDOWMENT)),
      ]),
      alice,
      sealBlock,
    );
  } finally {
    await api.disconnect();
  }
}

/** Starts chopsticks on 127.0.0.1 with the Asset Hub genesis, dev accounts endowed and the dev asset minted. */
export async function startDevChain(opts: DevChainOptions = {}): Promise<DevChain> {
  const genesis = await loadDevChainGenesis();
  const endowment = opts.endowment ?? DEV_NATIVE_ENDOWMENT;
  const accounts = Object.values(DEV_ACCOUNTS);
  const { BuildBlockMode, destroyWorker, setupWithServer } = await loadChopsticks();
  const ctx = await setupWithServer({
    genesis,
    host: '127.0.0.1',
    port: opts.port ?? 0,
    'build-block-mode': BuildBlockMode[opts.mode ?? 'Instant'],
    'runtime-log-level': 0,
    'import-storage': {
      System: {
        Account: accounts.map((a) => [[a], { providers: 1, data: { free: endowment.toString() } }]),
      },
      Balances: { TotalIssuance: (endowment * BigInt(accounts.length)).toString() },
    },
    // chopsticks' config type is a zod-inferred record; the genesis object above matches its `genesis` schema.
  } as unknown as Parameters<typeof setupWithServer>[0]);
  liveChains++;
  const port = Number(ctx.addr.split(':').pop());
  const wsUrl = `ws://127.0.0.1:${port}`;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      await ctx.close();
      liveChains--;
      // chopsticks runs the runtime in a worker thread shared by all chains in this process; stop it with the last one.
      if (liveChains === 0) await destroyWorker();
    })();
    return closed;
  };
  try {
    if (opts.createAsset !== false) await createDevAsset(wsUrl, (opts.mode ?? 'Instant') !== 'Instant');
  } catch (err) {
    await close();
    throw err;
  }
  return { wsUrl, port, accounts: DEV_ACCOUNTS, asset: DEV_ASSET, close };
}
