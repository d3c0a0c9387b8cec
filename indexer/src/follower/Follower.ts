import type { ApiPromise } from '@polkadot/api';
import type { Logger } from 'pino';
import { fetchIndexedBlock } from '../chain/fetchBlock.ts';
import type { BlockId, IndexedBlock } from '../chain/IndexedBlock.ts';
import type { Cursor, Store } from '../db/Store.ts';
import { IndexerError } from '../errors.ts';
import type { IndexerMetrics } from '../metrics.ts';

/** How the follower walks the chain. */
export interface FollowerOptions {
  /** First block to index when the database has no cursor. */
  from: number;
  /** Blocks fetched and written per transaction. */
  batchSize: number;
  /** Confirmations on top of the chain's finality before a block is final (chopsticks finalizes every head). */
  finalityDepth: number;
  /** Address format of stored addresses. */
  ss58: number;
  /** Safety-net poll of the chain head, in ms, besides the head subscriptions. */
  pollMs?: number;
  /** Called after each written batch (e.g. to fetch new stream metadata); errors are logged, not fatal. */
  onBatch?: (batch: readonly IndexedBlock[]) => Promise<void>;
  logger: Logger;
  metrics: IndexerMetrics;
}

/** What the follower last saw of the chain. */
export interface ChainView {
  best?: BlockId;
  finalized?: BlockId;
}

const RETRY_MS = 1000;

/**
 * Follows the chain into the store: backfills from the cursor (or `from`) to the best head in batches, rolls back
 * pending blocks that left the canonical chain, and marks blocks final as finality advances. One sync runs at a time;
 * new heads and finalized heads only schedule another round.
 */
export class Follower {
  #api: ApiPromise | undefined;
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
    while (this.#dirty && !this.#closed) {
      this.#dirty = false;
      try {
        await this.#syncOnce();
      } catch (err) {
        if (this.#closed) return;
        this.#opts.metrics.syncErrors.inc();
        this.#log.error({ err }, 'sync failed; retrying');
        this.#dirty = true;
        await new Promise<void>((resolve) => {
          this.#retry = { timer: setTimeout(resolve, RETRY_MS), resolve };
        });
        this.#retry = undefined;
      }
    }
  }

  get #connected(): ApiPromise {
    if (!this.#api) throw new IndexerError('CHAIN_UNAVAILABLE', 'follower has no chain connection');
    return this.#api;
  }

  async #canonicalHash(number: number): Promise<string | undefined> {
    const hash = await this.#connected.rpc.chain.getBlockHash(number);
    return hash.isEmpty ? undefined : hash.toHex();
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
    let next = cur ? cur.head.number + 1 : this.#opts.from;
    let parent = cur?.head.hash;
    while (next <= best.number && !this.#closed) {
      const end = Math.min(next + this.#opts.batchSize - 1, best.number);
      const stop = this.#opts.metrics.batchSeconds.startTimer();
      const numbers: number[] = [];
      for (let n = next; n <= end; n++) numbers.push(n);
      // One round trip per request, all in flight together over the one WebSocket.
      const fetched = await Promise.all(
        numbers.map(async (n) => {
          const hash = await this.#canonicalHash(n);
          return hash === undefined ? undefined : fetchIndexedBlock(api, hash, this.#opts.ss58);
        }),
      );
      const batch: IndexedBlock[] = [];
      for (const block of fetched) {
        // The chain moved under us (reorg or head set back): stop here and let the next round reconcile.
        if (!block || (parent !== undefined && block.parentHash !== parent)) break;
        batch.push(block);
        parent = block.hash;
      }
      if (batch.length === 0) {
        this.#dirty = true;
        return;
      }
      const counts = await this.#store.writeBatch(batch, finalTarget);
      stop();
      const last = batch.at(-1)!;
      this.#opts.metrics.blocksWritten.inc(batch.length);
      this.#opts.metrics.indexedHeight.set(last.number);
      for (const [type, n] of Object.entries(counts)) if (n > 0) this.#opts.metrics.eventsWritten.inc({ type }, n);
      this.#log.debug({ from: next, to: last.number, ...counts }, 'batch written');
      if (this.#opts.onBatch) {
        await this.#opts.onBatch(batch).catch((err) => this.#log.warn({ err }, 'after-batch hook failed'));
      }
      if (batch.length < fetched.length) {
        this.#dirty = true;
        return;
      }
      next = last.number + 1;
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
