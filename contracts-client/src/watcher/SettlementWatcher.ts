import type { Header } from '@polkadot/types/interfaces';
import { type ChainClient, trackChild, untrackChild } from '../chain/connect.ts';
import { readFinalizedHash, readHeader } from '../chain/rawReads.ts';
import { ContractsClientError } from '../errors.ts';
import { fetchDecodedBlock } from '../events/decodeBlock.ts';
import type { BlockRef, DecodedBlock } from '../events/types.ts';

/** One delivery: every block is delivered `pending` then `final`, or `pending` then `retracted` if it lost a fork. */
export type WatchedBlock =
  | { status: 'pending'; block: DecodedBlock }
  | { status: 'final'; block: DecodedBlock }
  | { status: 'retracted'; block: BlockRef };

/** Options for SettlementWatcher.start(). */
export interface WatcherOptions {
  /** Called for each delivery, one at a time, in chain order; a rejection stops the watcher (see `closed`). */
  onBlock(delivery: WatchedBlock): void | Promise<void>;
  /** Resume after this final block (the consumer's cursor): later finalized blocks are backfilled. Default: the current finalized head. */
  from?: { number: number; hash: string };
  /** Address format of decoded events (default: the client's). */
  ss58?: number;
  /** Called when a chain read fails (e.g. while the WebSocket is down); the watcher retries by itself. */
  onChainError?(err: Error): void;
  /** Milliseconds between retries after a failed chain read (default 1000). */
  retryMs?: number;
}

const MAX_WALK = 50_000;

/**
 * Follows new and finalized heads and delivers decoded protocol events per block. Work is serialized; the state only
 * advances after a delivery, so a WebSocket drop (or a failed read) is retried from where it stopped: after
 * reconnecting it walks back from the new heads to the last delivered block, missing and duplicating nothing.
 */
export class SettlementWatcher {
  /** Blocks delivered as pending and not yet final, by hash. */
  private readonly pending = new Map<string, DecodedBlock>();
  private finalized: BlockRef;
  private queue: Promise<void> = Promise.resolve();
  private readonly unsubs: (() => void)[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private closing: Promise<void> | undefined;
  private resolveClosed!: (err: Error | undefined) => void;
  /** Resolves when the watcher stops: undefined after close(), or the error that stopped it. */
  readonly closed: Promise<Error | undefined>;

  private constructor(
    private readonly client: ChainClient,
    private readonly opts: WatcherOptions,
    start: BlockRef,
  ) {
    this.finalized = start;
    this.closed = new Promise((r) => {
      this.resolveClosed = r;
    });
  }

  /** Starts watching; resolves once subscribed. */
  static async start(client: ChainClient, opts: WatcherOptions): Promise<SettlementWatcher> {
    const { api } = client;
    let start: BlockRef;
    if (opts.from) {
      const header = await readHeader(api, opts.from.hash);
      if (header.number.toNumber() !== opts.from.number) {
        throw new ContractsClientError('BAD_REQUEST', 'cursor hash does not match its number');
      }
      start = refOf(header, opts.from.hash);
    } else {
      const finalized = await readFinalizedHash(api);
      start = refOf(await readHeader(api, finalized), finalized);
    }
    const watcher = new SettlementWatcher(client, opts, start);
    trackChild(api, watcher);
    try {
      await watcher.subscribe();
    } catch (err) {
      await watcher.close();
      throw err;
    }
    return watcher;
  }

  /** The last block delivered as final (a consumer's resume cursor). */
  get cursor(): BlockRef {
    return this.finalized;
  }

  private async subscribe(): Promise<void> {
    const { api } = this.client;
    this.unsubs.push(
      await api.rpc.chain.subscribeNewHeads((h) => this.schedule(() => this.onBest(refOf(h)))),
      await api.rpc.chain.subscribeFinalizedHeads((h) => this.schedule(() => this.onFinal(refOf(h)))),
    );
    // Heads produced while the socket was down are never pushed: poll once on every reconnect.
    const onConnected = (): void => this.schedule(() => this.poll());
    api.on('connected', onConnected);
    this.unsubs.push(() => api.off('connected', onConnected));
    this.schedule(() => this.poll());
  }

  private schedule(job: () => Promise<void>): void {
    if (this.stopped) return;
    this.queue = this.queue.then(async () => {
      if (this.stopped) return;
      try {
        await job();
      } catch (err) {
        if (err instanceof HandlerError) {
          void this.stop(err.cause as Error);
          return;
        }
        this.opts.onChainError?.(err as Error);
        this.retryLater();
      }
    });
  }

  private retryLater(): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.schedule(() => this.poll());
    }, this.opts.retryMs ?? 1000);
  }

  private async poll(): Promise<void> {
    const { api } = this.client;
    const finalHash = await readFinalizedHash(api);
    const [finalHeader, best] = await Promise.all([readHeader(api, finalHash), readHeader(api)]);
    await this.onFinal(refOf(finalHeader, finalHash));
    await this.onBest(refOf(best));
  }

  private async deliver(delivery: WatchedBlock): Promise<void> {
    try {
      await this.opts.onBlock(delivery);
    } catch (err) {
      throw new HandlerError(err);
    }
  }

  /** Ancestors of `head` (inclusive, ascending) down to, not including, a block for which `known` is true. */
  private async walkBack(head: BlockRef, known: (b: BlockRef) => boolean): Promise<BlockRef[]> {
    const chain: BlockRef[] = [];
    let cursor: BlockRef = head;
    while (!known(cursor)) {
      chain.push(cursor);
      if (chain.length > MAX_WALK) throw new Error('walked too far back without meeting a known block');
      cursor = refOf(await readHeader(this.client.api, cursor.parentHash), cursor.parentHash);
    }
    return chain.reverse();
  }

  private decode(hash: string): Promise<DecodedBlock> {
    return fetchDecodedBlock(this.client.api, hash, this.opts.ss58 ?? this.client.facts.ss58);
  }

  private async onBest(head: BlockRef): Promise<void> {
    if (head.number <= this.finalized.number || this.pending.has(head.hash)) return;
    const fresh = await this.walkBack(
      head,
      (b) => this.pending.has(b.hash) || b.hash === this.finalized.hash || b.number <= this.finalized.number,
    );
    // A branch that forks below the finalized block can never become canonical.
    const first = fresh[0];
    if (!first || (first.parentHash !== this.finalized.hash && !this.pending.has(first.parentHash))) return;
    for (const ref of fresh) {
      const block = await this.decode(ref.hash);
      await this.deliver({ status: 'pending', block });
      this.pending.set(ref.hash, block);
    }
  }

  private async onFinal(head: BlockRef): Promise<void> {
    if (head.number <= this.finalized.number) return;
    const canonical = await this.walkBack(
      head,
      (b) => b.hash === this.finalized.hash || b.number <= this.finalized.number,
    );
    const first = canonical[0];
    if (!first || first.parentHash !== this.finalized.hash) {
      throw new Error(`finalized chain does not extend the cursor ${this.finalized.number}:${this.finalized.hash}`);
    }
    for (const ref of canonical) {
      const block = this.pending.get(ref.hash) ?? (await this.decode(ref.hash));
      if (!this.pending.has(ref.hash)) {
        await this.deliver({ status: 'pending', block });
        this.pending.set(ref.hash, block);
      }
      await this.deliver({ status: 'final', block });
      this.pending.delete(ref.hash);
      this.finalized = ref;
      // Pending blocks at or below finality that are not on the finalized chain lost their fork.
      for (const [hash, other] of this.pending) {
        if (other.number <= ref.number) {
          await this.deliver({
            status: 'retracted',
            block: { hash, number: other.number, parentHash: other.parentHash },
          });
          this.pending.delete(hash);
        }
      }
    }
  }

  private stop(err: Error | undefined): Promise<void> {
    this.closing ??= (async () => {
      this.stopped = true;
      clearTimeout(this.retryTimer);
      for (const unsub of this.unsubs.splice(0)) {
        try {
          unsub();
        } catch {
          // The connection may already be gone; nothing left to unsubscribe from.
        }
      }
      await this.queue;
      untrackChild(this.client.api, this);
      this.resolveClosed(err);
    })();
    return this.closing;
  }

  /** Stops following heads and waits for the delivery in progress; safe to call twice. */
  close(): Promise<void> {
    return this.stop(undefined);
  }
}

class HandlerError extends Error {
  constructor(cause: unknown) {
    super('onBlock handler failed', { cause });
  }
}

/** `knownHash` wins over the computed one: chopsticks serves a synthetic genesis whose header does not hash to it. */
function refOf(h: Header, knownHash?: string): BlockRef {
  return { hash: knownHash ?? h.hash.toHex(), number: h.number.toNumber(), parentHash: h.parentHash.toHex() };
}
