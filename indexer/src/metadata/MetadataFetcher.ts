import type { Logger } from 'pino';
import type { MetadataStore } from '../db/MetadataStore.ts';
import type { IndexerMetrics } from '../metrics.ts';
import { MetadataFetchError } from './errors.ts';
import { fetchMetadataDocument } from './fetchMetadataDocument.ts';
import { GatewayBlockstore } from './GatewayBlockstore.ts';

/** How the metadata fetcher reaches the gateway and backs off. */
export interface MetadataFetcherOptions {
  /** Trustless gateway base URL. */
  gatewayUrl: string;
  /** Time limit of one document (all its blocks). */
  timeoutMs: number;
  /** First retry delay of an unavailable CID; doubles per attempt. */
  retryMinMs: number;
  /** Longest retry delay. */
  retryMaxMs: number;
  /** Documents fetched at once. */
  concurrency?: number;
  logger: Logger;
  metrics: IndexerMetrics;
}

/** Largest block of a metadata DAG: one 256 KiB leaf of the Kubo layout, with room for a dag-pb envelope. */
const MAX_BLOCK_BYTES = 256 * 1024 + 1024;
/** setTimeout's limit. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Fetches the metadata of announced streams from a trustless gateway, outside the follower: `kick()` only schedules
 * a round, so a slow or absent gateway never holds up or fails indexing. Each round fetches every CID that was never
 * tried or whose retry time has come; unavailable CIDs are retried with exponential back-off (a timer wakes the
 * fetcher for the earliest one), invalid ones never.
 */
export class MetadataFetcher {
  readonly #store: MetadataStore;
  readonly #opts: MetadataFetcherOptions;
  readonly #log: Logger;
  readonly #blocks: GatewayBlockstore;
  readonly #abort = new AbortController();
  #dirty = false;
  /** The last round ended in an error (e.g. the database was unreachable): try again after `retryMinMs`. */
  #roundFailed = false;
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(store: MetadataStore, opts: MetadataFetcherOptions) {
    this.#store = store;
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'metadata' });
    this.#blocks = new GatewayBlockstore({ url: opts.gatewayUrl, maxBlockBytes: MAX_BLOCK_BYTES });
  }

  /** Schedules a round (e.g. after a batch with announcements); returns at once and never throws. */
  kick(): void {
    if (this.#abort.signal.aborted) return;
    this.#dirty = true;
    this.#running ??= this.#loop().finally(() => {
      this.#running = undefined;
      void this.#armRetryTimer();
    });
  }

  /** Resolves when no round is running (for tests). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Stops: aborts fetches in flight and waits for the round to end. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort();
      clearTimeout(this.#timer);
      await this.#running;
    })();
    return this.#closing;
  }

  async #loop(): Promise<void> {
    while (this.#dirty && !this.#abort.signal.aborted) {
      this.#dirty = false;
      try {
        await this.#round();
        this.#roundFailed = false;
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        // A database failure: the retry timer starts another round.
        this.#roundFailed = true;
        this.#log.error({ err }, 'metadata round failed');
      }
    }
  }

  async #round(): Promise<void> {
    const concurrency = this.#opts.concurrency ?? 4;
    const page = concurrency * 4;
    while (!this.#abort.signal.aborted) {
      const due = await this.#store.due(new Date(), page);
      const queue = [...due];
      await Promise.all(
        Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
          for (let cid = queue.shift(); cid !== undefined; cid = queue.shift()) await this.#fetchOne(cid);
        }),
      );
      if (due.length < page) return;
    }
  }

  async #fetchOne(cid: string): Promise<void> {
    const timeout = AbortSignal.timeout(this.#opts.timeoutMs);
    const signal = AbortSignal.any([this.#abort.signal, timeout]);
    let failure: MetadataFetchError;
    try {
      const { metadata, document } = await fetchMetadataDocument(this.#blocks, cid, signal);
      await this.#store.markFetched(cid, metadata, document, new Date());
      this.#opts.metrics.metadataFetches.inc({ outcome: 'fetched' });
      this.#log.info({ cid, title: metadata.title }, 'stream metadata fetched');
      return;
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      if (err instanceof MetadataFetchError) failure = err;
      else if (timeout.aborted) {
        failure = new MetadataFetchError('GATEWAY_UNAVAILABLE', `timed out after ${this.#opts.timeoutMs} ms`);
      } else {
        this.#log.error({ err, cid }, 'metadata fetch failed unexpectedly');
        failure = new MetadataFetchError('GATEWAY_UNAVAILABLE', `unexpected: ${(err as Error).message}`);
      }
    }
    let retryAt: Date | undefined;
    if (failure.retryable) {
      const attempts = await this.#store.attempts(cid);
      const delay = Math.min(this.#opts.retryMaxMs, this.#opts.retryMinMs * 2 ** Math.min(attempts, 30));
      retryAt = new Date(Date.now() + delay);
    }
    await this.#store.markFailed(cid, { code: failure.code, message: failure.message, retryAt }, new Date());
    this.#opts.metrics.metadataFetches.inc({ outcome: retryAt ? 'unavailable' : 'invalid' });
    this.#log.warn({ cid, code: failure.code, err: failure.message, retryAt }, 'stream metadata not fetched');
  }

  /** Wakes the fetcher when the earliest unavailable CID is due again. */
  async #armRetryTimer(): Promise<void> {
    try {
      const at = this.#roundFailed ? new Date(Date.now() + this.#opts.retryMinMs) : await this.#store.nextRetry();
      if (this.#abort.signal.aborted || this.#running) return;
      clearTimeout(this.#timer);
      if (!at) return;
      const wait = Math.min(MAX_TIMER_MS, Math.max(0, at.getTime() - Date.now()));
      this.#timer = setTimeout(() => this.kick(), wait);
      this.#timer.unref();
    } catch (err) {
      if (!this.#abort.signal.aborted) this.#log.warn({ err }, 'could not schedule the metadata retry');
    }
  }
}
