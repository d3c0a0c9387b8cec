import type { ApiPromise } from '@polkadot/api';
import type { Logger } from 'pino';
import { ChainReader } from '../chain/ChainReader.ts';
import type { BlockId, IndexedBlock } from '../chain/IndexedBlock.ts';
import { RuntimeRegistries } from '../chain/RuntimeRegistries.ts';
import type { Cursor, Store } from '../db/Store.ts';
import { errorCode, errorKind, IndexerError } from '../errors.ts';
import type { IndexerMetrics } from '../metrics.ts';
import { type BlockSource, type ReadWindow, readRange } from './readRange.ts';

/** How the follower walks the chain. */
export interface FollowerOptions {
  /** First block to index when the database has no cursor. */
  from: number;
  /** Blocks written per transaction. */
  batchSize: number;
  /** Blocks read at once: chunks of consecutive blocks, several chunks in flight (default 25 × 8). */
  read?: Partial<ReadWindow>;
  /** Confirmations on top of the chain's finality before a block is final (chopsticks finalizes every head). */
  finalityDepth: number;
  /** Address format of stored addresses. */
  ss58: number;
  /** Safety-net poll of the chain head, in ms, besides the head subscriptions. */
  pollMs?: number;
  /** Called after each written batch (e.g. to fetch new stream metadata); errors are logged, not fatal. */
  onBatch?: (batch: readonly IndexedBlock[]) => Promise<void>;
  /** Called once when a fatal error stops the follower. */
  onFatal?: (failure: FollowerFailure) => void;
  /** First and longest delay between retries of a failed round, in ms (default 1,000 and 30,000). */
  retryMs?: { min: number; max: number };
  logger: Logger;
  metrics: IndexerMetrics;
}

/** What the follower last saw of the chain, and why it stopped if a fatal error stopped it. */
export interface ChainView {
  best?: BlockId;
  finalized?: BlockId;
  failure?: FollowerFailure;
}

/** The fatal error that stopped the follower. */
export interface FollowerFailure {
  readonly code: string;
  readonly message: string;
  readonly at: Date;
}

const DEFAULT_READ: ReadWindow = { chunkSize: 25, concurrency: 8 };

/**
 * Follows the chain into the store: backfills from the cursor (or `from`) to the best head in batches, rolls back
 * pending blocks that left the canonical chain, and marks blocks final as finality advances. One sync runs at a time;
 * new heads and finalized heads only schedule another round.
 */
export class Follower {
  #api: ApiPromise | undefined;
  #source: BlockSource | undefined;
  readonly #store: Store;
  readonly #opts: FollowerOptions;
  readonly #log: Logger;
  readonly #chain: ChainView = {};
  readonly #unsubs: Array<() => void> = [];
  #dirty = false;
  #running: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #poll: NodeJS.Timeout | undefined;
  #retry: { timer: NodeJS.Timeout; resolve: () => void } | undefined;

  constructor(store: Store, opts: FollowerOptions) {
    this.#store = store;
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'follower' });
  }

  /** The chain's best and finalized heads as last seen. */
  get chain(): Readonly<ChainView> {
    return this.#chain;
  }

  /** Subscribes to new and finalized heads through `api` and starts the first sync. */
  async start(api: ApiPromise): Promise<void> {
    if (this.#closed) throw new IndexerError('CLOSED', 'follower is closed');
    if (this.#api) throw new IndexerError('INTERNAL', 'follower already started');
    this.#api = api;
    const reader = new ChainReader(api);
    const base = { specVersion: api.runtimeVersion.specVersion.toNumber(), registry: api.registry };
    this.#source = { reader, runtimes: new RuntimeRegistries(reader, base), ss58: this.#opts.ss58 };
    const kick = () => this.#schedule();
    this.#unsubs.push(await api.rpc.chain.subscribeNewHeads(kick));
    this.#unsubs.push(await api.rpc.chain.subscribeFinalizedHeads(kick));
    this.#poll = setInterval(kick, this.#opts.pollMs ?? 6000);
    this.#schedule();
  }

  /** Resolves when no sync is running or scheduled (for tests and graceful shutdown). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Stops following; waits for the batch in flight to commit. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      clearInterval(this.#poll);
      for (const unsub of this.#unsubs.splice(0)) unsub();
      if (this.#retry) {
        clearTimeout(this.#retry.timer);
        this.#retry.resolve();
      }
      await this.#running;
    })();
    return this.#closing;
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#dirty = true;
    this.#running ??= this.#loop().finally(() => {
      this.#running = undefined;
    });
  }

  async #loop(): Promise<void> {
    const retry = this.#opts.retryMs ?? { min: 1000, max: 30_000 };
    let delay = retry.min;
    while (this.#dirty && !this.#closed) {
      this.#dirty = false;
      try {
        await this.#syncOnce();
        delay = retry.min;
      } catch (err) {
        if (this.#closed) return;
        if (errorKind(err) === 'fatal') {
          this.#fail(err);
          return;
        }
        this.#opts.metrics.syncErrors.inc();
        this.#log.error({ err, retryInMs: delay }, 'sync failed; retrying');
        this.#dirty = true;
        await new Promise<void>((resolve) => {
          this.#retry = { timer: setTimeout(resolve, delay), resolve };
        });
        this.#retry = undefined;
        delay = Math.min(delay * 2, retry.max);
      }
    }
  }

  /** Stops following for good on an error retrying cannot fix: says why in the log, the metrics and the status. */
  #fail(err: unknown): void {
    const code = errorCode(err);
    const message = err instanceof Error ? err.message : String(err);
    const failure: FollowerFailure = { code, message, at: new Date() };
    this.#chain.failure = failure;
    this.#closed = true;
    clearInterval(this.#poll);
    for (const unsub of this.#unsubs.splice(0)) unsub();
    this.#opts.metrics.fatalErrors.inc({ code });
    this.#opts.metrics.followerStopped.set(1);
    this.#log.fatal(
      { err, code },
      `indexer stopped: ${code}: ${message}. Not retried: it would fail the same way. ` +
        'The API keeps serving what was indexed; fix the cause (see the code in docs/ARCHITECTURE.md) and restart.',
    );
    this.#opts.onFatal?.(failure);
  }

  get #connected(): ApiPromise {
    if (!this.#api) throw new IndexerError('CHAIN_UNAVAILABLE', 'follower has no chain connection');
    return this.#api;
  }

  get #reader(): BlockSource {
    if (!this.#source) throw new IndexerError('CHAIN_UNAVAILABLE', 'follower has no chain connection');
    return this.#source;
  }

  #canonicalHash(number: number): Promise<string | undefined> {
    return this.#reader.reader.hashAt(number);
  }

  /** One round: read the heads, undo abandoned blocks, write new blocks in batches, advance finality. */
  async #syncOnce(): Promise<void> {
    const api = this.#connected;
    const [bestHeader, finalizedHash] = await Promise.all([
      api.rpc.chain.getHeader(),
      api.rpc.chain.getFinalizedHead(),
    ]);
    const finalizedHeader = await api.rpc.chain.getHeader(finalizedHash);
    const best = { number: bestHeader.number.toNumber(), hash: bestHeader.hash.toHex() };
    const finalized = { number: finalizedHeader.number.toNumber(), hash: finalizedHash.toHex() };
    this.#chain.best = best;
    this.#chain.finalized = finalized;
    this.#opts.metrics.chainHeight.set(best.number);
    const finalTarget = Math.min(finalized.number, best.number - this.#opts.finalityDepth);

    let cur = await this.#store.cursor();
    if (cur) cur = await this.#reconcile(cur);
    const next = cur ? cur.head.number + 1 : this.#opts.from;
    let parent = cur?.head.hash;
    let batch: IndexedBlock[] = [];
    let stop = this.#opts.metrics.batchSeconds.startTimer();
    /** Writes the first `size` blocks read (all by default) as one transaction. */
    const flush = async (size = batch.length) => {
      if (size === 0) return;
      const written = batch.slice(0, size);
      batch = batch.slice(size);
      const counts = await this.#store.writeBatch(written, finalTarget);
      stop();
      stop = this.#opts.metrics.batchSeconds.startTimer();
      const last = written.at(-1)!;
      this.#opts.metrics.blocksWritten.inc(written.length);
      this.#opts.metrics.indexedHeight.set(last.number);
      for (const [type, n] of Object.entries(counts)) if (n > 0) this.#opts.metrics.eventsWritten.inc({ type }, n);
      this.#log.debug({ from: written[0]!.number, to: last.number, ...counts }, 'batch written');
      if (this.#opts.onBatch) {
        await this.#opts.onBatch(written).catch((err) => this.#log.warn({ err }, 'after-batch hook failed'));
      }
    };
    const window = { ...DEFAULT_READ, ...this.#opts.read };
    let expected = next;
    for await (const chunk of readRange(this.#reader, next, best.number, window)) {
      if (this.#closed) break;
      for (const block of chunk) {
        // The chain moved under us (reorg or head set back): write what links up, let the next round reconcile.
        if (parent !== undefined && block.parentHash !== parent) {
          while (batch.length > 0) await flush(Math.min(batch.length, this.#opts.batchSize));
          this.#dirty = true;
          return;
        }
        batch.push(block);
        parent = block.hash;
        expected = block.number + 1;
      }
      while (batch.length >= this.#opts.batchSize) await flush(this.#opts.batchSize);
    }
    while (batch.length > 0) await flush(Math.min(batch.length, this.#opts.batchSize));
    // Fewer blocks than the head we saw: the chain moved; another round picks it up.
    if (expected <= best.number && !this.#closed) {
      this.#dirty = true;
      return;
    }
    await this.#store.finalize(finalTarget);
    const after = await this.#store.cursor();
    if (after) this.#opts.metrics.finalizedHeight.set(after.finalized.number);
  }

  /** Rolls back to the highest stored block still on the canonical chain; final blocks must never need it. */
  async #reconcile(cur: Cursor): Promise<Cursor | undefined> {
    if ((await this.#canonicalHash(cur.head.number)) === cur.head.hash) return cur;
    let height = cur.head.number;
    while (height > 0) {
      height--;
      const stored = await this.#store.hashAt(height);
      if (stored === undefined || stored === (await this.#canonicalHash(height))) break;
      if (height <= cur.finalized.number && cur.finalized.hash !== '') {
        throw new IndexerError('FINALITY_VIOLATION', `final block ${height} is no longer canonical`);
      }
    }
    const kept = await this.#store.rollbackTo(height);
    this.#opts.metrics.reorgs.inc();
    this.#opts.metrics.indexedHeight.set(height);
    this.#log.warn({ from: cur.head, to: kept }, 'rolled back blocks that left the canonical chain');
    return this.#store.cursor();
  }
}
