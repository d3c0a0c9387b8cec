// A Manual-mode dev chain (chopsticks, the real Asset Hub runtime) kept in chopsticks' sqlite database under
// .data/bench-indexer/ (gitignored), so the slow part — building thousands of settlement blocks, ~0.6 s of CPU each
// (fastBlock.ts) — is done once and resumed where it stopped; every later bench run reopens the same chain in seconds.
// Build or extend: node --import tsx bench/indexer/cachedChain.ts [--blocks=2000] [--perBlock=8] [--pad=N]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  buildFunding,
  buildSettlement,
  type ChainClient,
  connect,
  createSessionKey,
  DEV_ACCOUNTS,
  DEV_NATIVE_ENDOWMENT,
  loadDevChainGenesis,
  sessionKeyPair,
  type Tx,
} from '@persecond/contracts-client';
import { WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { sealFast } from './fastBlock.ts';

const here = dirname(fileURLToPath(import.meta.url));
/** Where the chain database and its layout live (under the gitignored .data/). */
export const CACHE_DIR = process.env.BENCH_INDEXER_CACHE ?? join(here, '..', '..', '.data', 'bench-indexer');

/** What the cached chain holds, written after every block so an interrupted build resumes exactly. */
export interface ChainLayout {
  perBlock: number;
  /** The chain's head when the build started (chopsticks' genesis setup may seal a block of its own). */
  startHead: number;
  /** Blocks that fund the sessions (after genesis). */
  fundingBlocks: number;
  /** Blocks of `perBlock` settlement transactions each, right after the funding blocks. */
  settlementBlocks: number;
  /** Empty blocks after the settlement blocks (chain padding, when asked). */
  emptyBlocks: number;
  settlementsSubmitted: number;
  head: number;
  buildSeconds: number;
}

/** A running cached chain. */
export interface CachedChain {
  readonly wsUrl: string;
  readonly layout: ChainLayout;
  /** The serving process, when it runs apart. */
  readonly pid?: number | undefined;
  close(): Promise<void>;
}

const layoutFile = (perBlock: number) => join(CACHE_DIR, `chain-${perBlock}.json`);
const dbFile = (perBlock: number) => join(CACHE_DIR, `chain-${perBlock}.sqlite`);

/** A running chopsticks: its URL, and a builder of one block of signed transactions (bench/indexer/fastBlock.ts). */
interface Chopsticks {
  wsUrl: string;
  build(transactions: `0x${string}`[]): Promise<void>;
  close(): Promise<void>;
}

/** Starts chopsticks on the cache database, resuming from its highest block when there is one. */
async function startChopsticks(perBlock: number): Promise<Chopsticks> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const resume = existsSync(layoutFile(perBlock));
  const saved = process.env.LOG_LEVEL;
  process.env.LOG_LEVEL = process.env.CHOPSTICKS_LOG_LEVEL ?? 'warn';
  const { BuildBlockMode, destroyWorker, setupWithServer } = await import('@acala-network/chopsticks');
  if (saved === undefined) delete process.env.LOG_LEVEL;
  else process.env.LOG_LEVEL = saved;
  const accounts = Object.values(DEV_ACCOUNTS);
  const ctx = await setupWithServer({
    genesis: await loadDevChainGenesis(),
    host: '127.0.0.1',
    port: 0,
    'build-block-mode': BuildBlockMode.Manual,
    'runtime-log-level': 0,
    db: dbFile(perBlock),
    resume,
    // The dev accounts' endowment, as startDevChain imports it; a resumed chain has it in its blocks already.
    ...(resume
      ? {}
      : {
          'import-storage': {
            System: {
              Account: accounts.map((a) => [[a], { providers: 1, data: { free: DEV_NATIVE_ENDOWMENT.toString() } }]),
            },
            Balances: { TotalIssuance: (DEV_NATIVE_ENDOWMENT * BigInt(accounts.length)).toString() },
          },
        }),
  } as unknown as Parameters<typeof setupWithServer>[0]);
  const port = Number(ctx.addr.split(':').pop());
  let closing: Promise<void> | undefined;
  return {
    wsUrl: `ws://127.0.0.1:${port}`,
    build: (transactions) => sealFast(ctx.chain, transactions),
    close: () => {
      closing ??= (async () => {
        await ctx.close();
        await destroyWorker();
      })();
      return closing;
    },
  };
}

/** Seals one block with `txs`, each signed here (immortal) with its nonce, built in-process (fastBlock.ts). */
async function seal(chain: Chopsticks, txs: Array<[Tx, KeyringPair, number]>): Promise<void> {
  const transactions = await Promise.all(
    txs.map(async ([tx, signer, nonce]) => (await tx.signAsync(signer, { nonce, era: 0 })).toHex()),
  );
  await chain.build(transactions);
}

/** The bench's session accounts: deterministic keys, so a resumed build signs with the same accounts. */
function sessionsOf(perBlock: number) {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const creators = ['Alice', 'Bob', 'Charlie'].map((n) => keyring.addFromUri(`//${n}`));
  return Array.from({ length: perBlock }, (_, i) => {
    const seed = new Uint8Array(32).fill(i + 1);
    return { id: `bench-${i}`, pair: sessionKeyPair(createSessionKey(42, seed), 42), creator: creators[i % 3]! };
  });
}

/** Extends the chain to `target` settlement blocks (funding the sessions first), then pads `pad` empty blocks. */
async function extend(
  client: ChainClient,
  chain: Chopsticks,
  layout: ChainLayout,
  target: number,
  pad: number,
): Promise<void> {
  const builder = new WsProvider(chain.wsUrl, 1000, {}, 300_000);
  await builder.isReady;
  const save = () => writeFileSync(layoutFile(layout.perBlock), `${JSON.stringify(layout, null, 2)}\n`);
  const started = performance.now() - layout.buildSeconds * 1000;
  const tick = () => {
    layout.head = layout.startHead + layout.fundingBlocks + layout.settlementBlocks + layout.emptyBlocks;
    layout.buildSeconds = (performance.now() - started) / 1000;
    save();
  };
  try {
    const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
    const sessions = sessionsOf(layout.perBlock);
    const nonceOf = async (who: string) => (await client.api.rpc.system.accountNextIndex(who)).toNumber();
    if (layout.fundingBlocks === 0) {
      const funders = ['Dave', 'Eve', 'Ferdie'].map((n) => keyring.addFromUri(`//${n}`));
      const nonces = await Promise.all(funders.map((f) => nonceOf(f.address)));
      for (let i = 0; i < sessions.length; i += funders.length) {
        await seal(
          chain,
          sessions.slice(i, i + funders.length).map((s, j) => {
            const tx = buildFunding(client, {
              sessionId: s.id,
              sessionAccount: s.pair.address,
              asset: 'native',
              budget: 10n ** 16n,
            });
            return [tx, funders[j]!, nonces[j]!++];
          }),
        );
        layout.fundingBlocks++;
        tick();
      }
    }
    if (layout.emptyBlocks > 0 && layout.settlementBlocks < target) {
      throw new Error('the cached chain is padded already; remove .data/bench-indexer to build a longer one');
    }
    const nonces = await Promise.all(sessions.map((s) => nonceOf(s.pair.address)));
    while (layout.settlementBlocks < target) {
      const b = layout.settlementBlocks;
      if (b % 50 === 0) console.error(`  settlement block ${b + 1}/${target} (${layout.buildSeconds.toFixed(0)} s)`);
      await seal(
        chain,
        sessions.map((s, i) => {
          const tx = buildSettlement(client, {
            streamId: `bench-stream-${i % 3}`,
            sessionId: s.id,
            seq: (b + 1) * 10,
            creator: s.creator.address,
            asset: 'native',
            amount: 1_000_000_007n * BigInt(10 + ((b + i) % 7)),
          });
          return [tx, s.pair, nonces[i]!++];
        }),
      );
      layout.settlementBlocks++;
      layout.settlementsSubmitted += sessions.length;
      tick();
    }
    for (let left = pad; left > 0; left -= 100) {
      const count = Math.min(left, 100);
      console.error(`  ${count} empty blocks (${left} to go)`);
      await builder.send('dev_newBlock', [{ count }]);
      layout.emptyBlocks += count;
      tick();
    }
  } finally {
    await builder.disconnect();
  }
}

/**
 * Opens the cached chain with `perBlock` settlements per block, building (or extending) it first to `blocks`
 * settlement blocks and `pad` empty blocks after them. Checks the chain's head matches the recorded layout.
 */
export async function openCachedChain(opts: { blocks: number; perBlock: number; pad?: number }): Promise<CachedChain> {
  const file = layoutFile(opts.perBlock);
  const resumed = existsSync(file);
  const layout: ChainLayout = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as ChainLayout)
    : {
        perBlock: opts.perBlock,
        startHead: -1,
        fundingBlocks: 0,
        settlementBlocks: 0,
        emptyBlocks: 0,
        settlementsSubmitted: 0,
        head: 0,
        buildSeconds: 0,
      };
  const chain = await startChopsticks(opts.perBlock);
  try {
    const client = await connect(chain.wsUrl, { ss58: 42, timeoutMs: 300_000 });
    try {
      const head = (await client.api.rpc.chain.getHeader()).number.toNumber();
      if (layout.startHead === -1) {
        layout.startHead = head;
        layout.head = head;
      }
      // A build stopped between sealing a block and recording it: that block is a settlement block.
      if (head === layout.head + 1 && layout.emptyBlocks === 0 && layout.fundingBlocks > 0) {
        layout.settlementBlocks++;
        layout.settlementsSubmitted += layout.perBlock;
        layout.head = head;
      }
      if (head !== layout.head) throw new Error(`cached chain head ${head}, its layout says ${layout.head}`);
      const pad = Math.max(0, (opts.pad ?? 0) - layout.emptyBlocks);
      if (resumed && layout.settlementBlocks < opts.blocks) {
        // chopsticks 1.5.1 keeps System.BlockHash(0) = the genesis hash outside the saved blocks: a resumed chain has
        // the runtime's placeholder there and refuses every signed transaction (BadProof) until it is set again.
        const key = client.api.query.system.blockHash.key(0);
        await client.api.rpc('dev_setStorage' as never, [[key, client.api.genesisHash.toHex()]] as never);
      }
      if (layout.settlementBlocks < opts.blocks || pad > 0) {
        console.error(`extending the cached chain (head ${head}) to ${opts.blocks} settlement blocks…`);
        await extend(client, chain, layout, opts.blocks, pad);
      }
    } finally {
      await client.close();
    }
  } catch (err) {
    await chain.close();
    throw err;
  }
  return { wsUrl: chain.wsUrl, layout, close: () => chain.close() };
}

/**
 * Serves the cached chain from a child process of its own (so the chain's RPC work does not share the indexer's
 * event loop), building or extending it first; resolves with its URL and layout once it answers.
 */
export async function spawnCachedChain(opts: { blocks: number; perBlock: number; pad?: number }): Promise<CachedChain> {
  const args = [`--blocks=${opts.blocks}`, `--perBlock=${opts.perBlock}`, `--pad=${opts.pad ?? 0}`, '--serve'];
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ready = await new Promise<{ wsUrl: string; layout: ChainLayout }>((resolve, reject) => {
    // chopsticks may log to stdout before the serving line.
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.startsWith('{"wsUrl"')) resolve(JSON.parse(line));
    });
    exited.then((code) => reject(new Error(`cached chain exited with ${code}`)));
  });
  let closing: Promise<void> | undefined;
  return {
    ...ready,
    pid: child.pid,
    close: () => {
      closing ??= (async () => {
        child.kill('SIGTERM');
        await exited;
      })();
      return closing;
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string, fallback: number) =>
    Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
  const chain = await openCachedChain({
    blocks: arg('blocks', 2000),
    perBlock: arg('perBlock', 8),
    pad: arg('pad', 0),
  });
  if (process.argv.includes('--serve')) {
    console.log(JSON.stringify({ wsUrl: chain.wsUrl, layout: chain.layout }));
    const stop = () => void chain.close().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  } else {
    console.error(JSON.stringify(chain.layout));
    await chain.close();
  }
}
