import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { SfuClosedError } from './errors.ts';
import { loadMediasoup } from './mediasoupLoader.ts';

/** Settings of a WorkerPool. */
export interface WorkerPoolOptions {
  numWorkers: number;
  logger: Logger;
  /** Delay before a died worker is replaced (ms). */
  restartDelayMs?: number;
}

/** One pool slot: the current worker for a core plus its load accounting. */
export interface PooledWorker {
  readonly index: number;
  readonly worker: types.Worker;
  /** Consumer units reserved by rooms (the capacity budget counts these). */
  reserved: number;
  /** Live consumers on this worker (WebRTC, plain and pipe), tracked from mediasoup observers. */
  consumers: number;
  /** Live routers on this worker. */
  routers: number;
}

/** Emitted when a worker process dies unexpectedly. */
export interface WorkerDiedEvent {
  index: number;
  pid: number;
  error: Error;
}

/** Emitted when a died worker was replaced by a fresh process. */
export interface WorkerReplacedEvent {
  index: number;
  oldPid: number;
  newPid: number;
}

export type WorkerPoolEvents = {
  workerDied: [WorkerDiedEvent];
  workerReplaced: [WorkerReplacedEvent];
  workerReplaceFailed: [{ index: number; error: Error }];
};

/** mediasoup workers, one per core; replaces workers that die; `close()` ends every process. */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly #slots: PooledWorker[] = [];
  readonly #opts: WorkerPoolOptions;
  readonly #log: Logger;
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;
  #shuttingDown = false;
  #closing: Promise<void> | undefined;
  /** Count of workers replaced since start. */
  restarts = 0;

  private constructor(opts: WorkerPoolOptions) {
    super();
    this.#opts = opts;
    this.#log = opts.logger.child({ part: 'worker-pool' });
  }

  /** Starts `numWorkers` workers; rejects (after cleaning up) if any fails to start. */
  static async create(opts: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(opts);
    try {
      const slots = await Promise.all(Array.from({ length: opts.numWorkers }, (_, i) => pool.#spawn(i)));
      pool.#slots.push(...slots);
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /** Current slots (replaced workers appear at the same index). */
  get workers(): readonly PooledWorker[] {
    return this.#slots;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The process is shutting down (e.g. SIGTERM to its process group, which mediasoup workers receive too and exit
   * on): workers exiting from now on are expected, logged at info and not replaced.
   */
  expectShutdown(): void {
    this.#shuttingDown = true;
  }

  /** Process ids of the live workers. */
  get pids(): number[] {
    return this.#slots.map((s) => s.worker.pid);
  }

  /** The live worker with the lowest load, optionally skipping some slot indexes. */
  leastLoaded(exclude: ReadonlySet<number> = new Set()): PooledWorker | undefined {
    let best: PooledWorker | undefined;
    for (const s of this.#slots) {
      if (exclude.has(s.index) || s.worker.closed) continue;
      if (!best || s.reserved < best.reserved || (s.reserved === best.reserved && s.routers < best.routers)) best = s;
    }
    return best;
  }

  /** The slot currently holding this worker (undefined once it was replaced). */
  slotOf(worker: types.Worker): PooledWorker | undefined {
    return this.#slots.find((s) => s.worker === worker);
  }

  /** Closes every worker and waits for their processes to exit. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      for (const t of this.#timers) clearTimeout(t);
      this.#timers.clear();
      await Promise.all(this.#slots.map((s) => closeWorker(s.worker)));
      this.#log.debug('worker pool closed');
    })();
    return this.#closing;
  }

  async #spawn(index: number): Promise<PooledWorker> {
    if (this.#closed) throw new SfuClosedError('worker pool');
    const mediasoup = await loadMediasoup();
    const worker = await mediasoup.createWorker({
      logLevel: 'warn',
      appData: { index },
    });
    const slot: PooledWorker = { index, worker, reserved: 0, consumers: 0, routers: 0 };
    trackLoad(worker, slot);
    worker.on('died', (error) => this.#onDied(slot, error));
    if (this.#closed) {
      await closeWorker(worker);
      throw new SfuClosedError('worker pool');
    }
    this.#log.info({ index, pid: worker.pid }, 'mediasoup worker started');
    return slot;
  }

  #onDied(slot: PooledWorker, error: Error): void {
    if (this.#closed) return;
    const pid = slot.worker.pid;
    if (this.#shuttingDown) {
      this.#log.info({ index: slot.index, pid }, 'mediasoup worker exited while shutting down');
      return;
    }
    this.#log.error({ index: slot.index, pid, err: error }, 'mediasoup worker died');
    this.emit('workerDied', { index: slot.index, pid, error });
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#spawn(slot.index).then(
        (fresh) => {
          this.#slots[slot.index] = fresh;
          this.restarts++;
          this.emit('workerReplaced', { index: slot.index, oldPid: pid, newPid: fresh.worker.pid });
        },
        (err: Error) => {
          if (this.#closed) return;
          this.#log.error({ index: slot.index, err }, 'could not replace mediasoup worker');
          this.emit('workerReplaceFailed', { index: slot.index, error: err });
        },
      );
    }, this.#opts.restartDelayMs ?? 100);
    this.#timers.add(timer);
  }
}

function trackLoad(worker: types.Worker, slot: PooledWorker): void {
  worker.observer.on('newrouter', (router) => {
    slot.routers++;
    router.observer.once('close', () => slot.routers--);
    router.observer.on('newtransport', (transport) => {
      transport.observer.on('newconsumer', (consumer) => {
        slot.consumers++;
        consumer.observer.once('close', () => slot.consumers--);
      });
    });
  });
}

/** Closes a worker and resolves once its child process has exited. */
async function closeWorker(worker: types.Worker): Promise<void> {
  if (worker.subprocessClosed) return;
  const exited = new Promise<void>((resolve) => worker.once('subprocessclose', () => resolve()));
  if (!worker.closed) worker.close();
  await exited;
}
