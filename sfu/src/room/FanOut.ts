import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { CapacityFullError } from '../errors.ts';
import { ROUTER_MEDIA_CODECS } from '../mediaCodecs.ts';
import type { PooledWorker, WorkerPool } from '../WorkerPool.ts';

/** One router of a room on one worker. */
export interface RoomRouter {
  slot: PooledWorker;
  ready: Promise<types.Router>;
  router?: types.Router;
  /** Producers piped into this router (the origin holds them natively). */
  piped: Map<string, Promise<void>>;
}

export type FanOutEvents = {
  /** No worker had budget left for a viewer. */
  capacityFull: [];
  /** The origin router closed while the fan-out was open (its worker died, or it was closed under the room). */
  '@originClose': [{ workerDied: boolean }];
};

/**
 * The routers of one room: the origin (on the least-loaded worker, holding every producer) and the routers opened on
 * other workers (fed by pipeToRouter) once the routers in use reach their consumer budget. Viewers reserve budget here.
 * `close()` (idempotent) closes every router, and with them every transport, producer and consumer of the room.
 */
export class FanOut extends EventEmitter<FanOutEvents> {
  readonly origin: RoomRouter;
  readonly #routers: RoomRouter[] = [];
  readonly #streamId: string;
  readonly #pool: WorkerPool;
  readonly #budget: number;
  readonly #log: Logger;
  #closing: Promise<void> | undefined;

  private constructor(streamId: string, pool: WorkerPool, budget: number, log: Logger, origin: RoomRouter) {
    super();
    this.#streamId = streamId;
    this.#pool = pool;
    this.#budget = budget;
    this.#log = log;
    this.origin = origin;
    this.#routers.push(origin);
    this.#watch(origin);
  }

  /** Opens the origin router on the least-loaded worker. */
  static async open(streamId: string, pool: WorkerPool, budget: number, log: Logger): Promise<FanOut> {
    const slot = pool.leastLoaded();
    if (!slot) throw new CapacityFullError('no live mediasoup worker');
    const router = await slot.worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS, appData: { streamId } });
    return new FanOut(streamId, pool, budget, log, { slot, ready: Promise.resolve(router), router, piped: new Map() });
  }

  /** The router holding every producer of the room. */
  get originRouter(): types.Router {
    return this.origin.router!;
  }

  /** Worker slot index of each router (origin first). */
  get workerIndexes(): number[] {
    return this.#routers.map((rr) => rr.slot.index);
  }

  /** Picks a router with budget for `cost` consumers and reserves it, opening a router on another worker if needed. */
  reserve(cost: number): RoomRouter {
    const fits = (slot: PooledWorker) => !slot.worker.closed && slot.reserved + cost <= this.#budget;
    let rr = this.#routers.find((r) => fits(r.slot) && !r.router?.closed);
    if (!rr) {
      const used = new Set(this.#routers.map((r) => r.slot.index));
      const candidates = this.#pool.workers
        .filter((s) => !used.has(s.index) && fits(s))
        .sort((a, b) => a.reserved - b.reserved || a.routers - b.routers);
      const slot = candidates[0];
      if (!slot) {
        this.emit('capacityFull');
        throw new CapacityFullError(`stream ${this.#streamId}: every worker is at its consumer budget`);
      }
      rr = this.#openRouter(slot);
    }
    rr.slot.reserved += cost;
    return rr;
  }

  /** Gives back budget reserved with `reserve`. */
  release(rr: RoomRouter, cost: number): void {
    rr.slot.reserved -= cost;
  }

  /** Makes the origin's producer available on `rr` (no-op on the origin; shared while in progress). */
  ensurePiped(rr: RoomRouter, producerId: string): Promise<void> {
    if (rr === this.origin) return Promise.resolve();
    let p = rr.piped.get(producerId);
    if (!p) {
      p = rr.ready.then(async (router) => {
        await this.originRouter.pipeToRouter({ producerId, router, listenInfo: { protocol: 'udp', ip: '127.0.0.1' } });
      });
      p.catch(() => rr.piped.delete(producerId));
      rr.piped.set(producerId, p);
    }
    return p;
  }

  /** Pipes a new producer to every fan-out router already open (failures leave it to be piped on demand). */
  pipeEverywhere(producerId: string): void {
    for (const rr of this.#routers) if (rr !== this.origin) this.ensurePiped(rr, producerId).catch(() => {});
  }

  /** Closes every router (idempotent); resolves once those being opened are closed too. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // A router's close takes it out of #routers at once: iterate over a copy.
      const routers = [...this.#routers];
      for (const rr of routers) {
        if (rr.router) rr.router.close();
        else
          rr.ready.then(
            (r) => r.close(),
            () => {},
          );
      }
      await Promise.allSettled(routers.map((rr) => rr.ready));
    })();
    return this.#closing;
  }

  #openRouter(slot: PooledWorker): RoomRouter {
    const rr: RoomRouter = { slot, ready: Promise.resolve() as never, piped: new Map() };
    rr.ready = slot.worker
      .createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS, appData: { streamId: this.#streamId } })
      .then((router) => {
        rr.router = router;
        if (this.#closing) router.close();
        this.#watch(rr);
        return router;
      });
    rr.ready.catch((err) => {
      this.#log.error({ err, worker: slot.index }, 'could not open a fan-out router');
      this.#forget(rr);
    });
    this.#routers.push(rr);
    this.#log.info({ worker: slot.index }, 'fan-out router opened');
    return rr;
  }

  #watch(rr: RoomRouter): void {
    rr.router!.observer.once('close', () => {
      this.#forget(rr);
      if (rr === this.origin && !this.#closing) this.emit('@originClose', { workerDied: rr.slot.worker.died });
    });
  }

  #forget(rr: RoomRouter): void {
    const i = this.#routers.indexOf(rr);
    if (i >= 0) this.#routers.splice(i, 1);
  }
}
