import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { SfuConfig } from './config.ts';
import { CapacityFullError, RoomClosedError, SfuBadRequestError } from './errors.ts';
import { hlsDirOf } from './hls/HlsReader.ts';
import { HlsRelay } from './hls/HlsRelay.ts';
import { applyLayerPick, currentLayersOf, type LayerPick, type ViewerLayers, watchLayers } from './layers.ts';
import { ROUTER_MEDIA_CODECS } from './mediaCodecs.ts';
import type { PooledWorker, WorkerPool } from './WorkerPool.ts';

/** What a client needs to create its side of a WebRTC transport (mediasoup-client `createSend/RecvTransport`). */
export interface TransportParams {
  id: string;
  iceParameters: types.IceParameters;
  iceCandidates: types.IceCandidate[];
  dtlsParameters: types.DtlsParameters;
}

/** What a viewer's client needs to call mediasoup-client `transport.consume()`. */
export interface ConsumerParams {
  id: string;
  producerId: string;
  kind: types.MediaKind;
  rtpParameters: types.RtpParameters;
  producerPaused: boolean;
}

/** Result of one flow sample for a viewer. */
export interface ViewerFlow {
  /** Media (RTP) reached the viewer's transport since the previous sample, through an active consumer. */
  flowing: boolean;
  /** RTP bytes sent to the viewer since the previous sample. */
  rtpBytes: number;
}

export type ViewerCloseReason = 'left' | 'worker-died' | 'room-closed';
export type RoomCloseReason = 'closed' | 'worker-died' | 'sfu-closed';

export type RoomEvents = {
  /** The creator added a producer; viewers should `consume()` again to receive it. */
  newProducer: [{ producerId: string; kind: types.MediaKind }];
  producerClosed: [{ producerId: string }];
  /** A viewer's transport is gone for a reason other than `removeViewer` (e.g. its worker died). */
  viewerClosed: [{ viewerId: string; reason: ViewerCloseReason }];
  /** The HLS relay's ffmpeg exited and is being restarted. */
  hlsRestart: [{ attempt: number; delayMs: number }];
  /** The HLS relay stopped (stream end, or no HLS viewer for the linger time). */
  hlsStopped: [];
  /** The simulcast layer a viewer's video consumer forwards changed (bandwidth estimation or the viewer's pick). */
  viewerLayers: [{ viewerId: string } & ViewerLayers];
  /** A viewer was refused with CAPACITY_FULL. */
  capacityFull: [];
  close: [{ reason: RoomCloseReason }];
};

/** Settings a room takes from the Sfu. */
export type RoomConfig = Pick<
  SfuConfig,
  | 'listenIp'
  | 'announcedIp'
  | 'rtcMinPort'
  | 'rtcMaxPort'
  | 'consumersPerWorker'
  | 'hlsDir'
  | 'hlsLingerMs'
  | 'hlsSegmentSeconds'
  | 'hlsLadder'
  | 'ffmpegPath'
>;

/** Producer changes often come in pairs (camera + microphone): rebuild the HLS relay once for both. */
const HLS_REFRESH_DELAY_MS = 500;
/** Upper bound of what a creator may send into a publisher transport. */
const MAX_PUBLISHER_BITRATE = 5_000_000;
/** The creator needs one send transport; a few more allow reconnects without leaking. */
const MAX_PUBLISHER_TRANSPORTS = 4;

interface RoomRouter {
  slot: PooledWorker;
  ready: Promise<types.Router>;
  router?: types.Router;
  /** Producers piped into this router (the origin holds them natively). */
  piped: Map<string, Promise<void>>;
}

interface Viewer {
  id: string;
  rr: RoomRouter;
  cost: number;
  transport: types.WebRtcTransport;
  consumers: Map<string, types.Consumer>;
  /** Producer ids being or already consumed (guards concurrent `consume()` calls). */
  consumed: Set<string>;
  /** Consumers the client said it is ready for. */
  clientReady: Set<string>;
  /** Paused by payment enforcement: overrides the client's resume. */
  enforcedPause: boolean;
  lastRtpBytesSent: number;
}

/**
 * The media room of one stream: an origin router on the least-loaded worker holding the creator's producers, plus
 * routers on other workers (fed by pipeToRouter) once the origin's worker reaches its consumer budget.
 */
export class Room extends EventEmitter<RoomEvents> {
  readonly streamId: string;
  readonly #pool: WorkerPool;
  readonly #cfg: RoomConfig;
  readonly #log: Logger;
  readonly #routers: RoomRouter[] = [];
  readonly #origin: RoomRouter;
  readonly #publisherTransports = new Map<string, types.WebRtcTransport>();
  readonly #producers = new Map<string, types.Producer>();
  readonly #viewers = new Map<string, Viewer>();
  readonly #hlsViewers = new Set<string>();
  #hls: Promise<HlsRelay> | undefined;
  #hlsRelay: HlsRelay | undefined;
  #hlsLinger: NodeJS.Timeout | undefined;
  #hlsRefresh: NodeJS.Timeout | undefined;
  /** Set while the relay is kept without HLS viewers (a recording): handed each relay's final output. */
  #hlsTap: ((dir: string) => Promise<void>) | undefined;
  #closing: Promise<void> | undefined;
  #closeReason: RoomCloseReason | undefined;
  /** Called once the room is closed, before the 'close' event (the Sfu unregisters the room here). */
  readonly #onClosed: (room: Room) => void;

  private constructor(
    streamId: string,
    pool: WorkerPool,
    cfg: RoomConfig,
    logger: Logger,
    origin: RoomRouter,
    onClosed: (room: Room) => void,
  ) {
    super();
    this.streamId = streamId;
    this.#pool = pool;
    this.#cfg = cfg;
    this.#log = logger.child({ part: 'room', streamId });
    this.#origin = origin;
    this.#routers.push(origin);
    this.#onClosed = onClosed;
    this.#watchRouter(origin);
  }

  /** Opens a room with its origin router on the least-loaded worker. */
  static async create(
    streamId: string,
    pool: WorkerPool,
    cfg: RoomConfig,
    logger: Logger,
    onClosed: (room: Room) => void = () => {},
  ): Promise<Room> {
    const slot = pool.leastLoaded();
    if (!slot) throw new CapacityFullError('no live mediasoup worker');
    const router = await slot.worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS, appData: { streamId } });
    const origin: RoomRouter = { slot, ready: Promise.resolve(router), router, piped: new Map() };
    return new Room(streamId, pool, cfg, logger, origin, onClosed);
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Why the room closed (undefined while open). */
  get closeReason(): RoomCloseReason | undefined {
    return this.#closeReason;
  }

  /** Router RTP capabilities for mediasoup-client `device.load()`. */
  get rtpCapabilities(): types.RtpCapabilities {
    return this.#origin.router!.rtpCapabilities;
  }

  /** The router holding the creator's producers (HLS relay and tests consume from it). */
  get originRouter(): types.Router {
    return this.#origin.router!;
  }

  /** Whether any producer is sending (not paused); cheap enough to ask once per viewer and second. */
  get producing(): boolean {
    for (const p of this.#producers.values()) if (!p.paused) return true;
    return false;
  }

  /** The creator's live producers: id, kind, negotiated codec and paused state. */
  get producers(): { id: string; kind: types.MediaKind; mimeType: string; paused: boolean }[] {
    return [...this.#producers.values()].map((p) => ({
      id: p.id,
      kind: p.kind,
      mimeType: p.rtpParameters.codecs[0]?.mimeType ?? '',
      paused: p.paused,
    }));
  }

  /** Ids of the WebRTC viewers in the room. */
  get viewerIds(): string[] {
    return [...this.#viewers.keys()];
  }

  /** Worker slot index each router of the room lives on (origin first). */
  get workerIndexes(): number[] {
    return this.#routers.map((rr) => rr.slot.index);
  }

  /** Worker slot index serving a viewer. */
  viewerWorkerIndex(viewerId: string): number {
    return this.#viewer(viewerId).rr.slot.index;
  }

  // ---- creator ----

  /** Creates a WebRTC transport for the creator to send on. */
  async createPublisherTransport(): Promise<TransportParams> {
    this.#assertOpen();
    if (this.#publisherTransports.size >= MAX_PUBLISHER_TRANSPORTS) {
      throw new SfuBadRequestError(`a stream has at most ${MAX_PUBLISHER_TRANSPORTS} publisher transports`);
    }
    const transport = await this.#createWebRtcTransport(this.#origin.router!, { role: 'publisher' });
    await transport.setMaxIncomingBitrate(MAX_PUBLISHER_BITRATE);
    this.#publisherTransports.set(transport.id, transport);
    transport.observer.once('close', () => this.#publisherTransports.delete(transport.id));
    return transportParams(transport);
  }

  /** One of the creator's send transports, to follow its ICE and DTLS states (e.g. an ingest session's). */
  publisherTransport(transportId: string): types.WebRtcTransport | undefined {
    return this.#publisherTransports.get(transportId);
  }

  /** Completes DTLS on a publisher or viewer transport (mediasoup-client 'connect' event). */
  async connectTransport(transportId: string, dtlsParameters: types.DtlsParameters): Promise<void> {
    this.#assertOpen();
    const transport =
      this.#publisherTransports.get(transportId) ??
      [...this.#viewers.values()].find((v) => v.transport?.id === transportId)?.transport;
    if (!transport) throw new SfuBadRequestError(`unknown transport ${transportId}`);
    await wrapBadRequest(() => transport.connect({ dtlsParameters }));
  }

  /** Creates a producer on a publisher transport (mediasoup-client 'produce' event) and pipes it to every router. */
  async produce(transportId: string, kind: types.MediaKind, rtpParameters: types.RtpParameters): Promise<string> {
    this.#assertOpen();
    const transport = this.#publisherTransports.get(transportId);
    if (!transport) throw new SfuBadRequestError(`unknown publisher transport ${transportId}`);
    const producer = await wrapBadRequest(() => transport.produce({ kind, rtpParameters }));
    this.#addProducer(producer);
    return producer.id;
  }

  /** Adds a producer created elsewhere on the origin router (e.g. a PlainTransport ingest). */
  adoptProducer(producer: types.Producer): void {
    this.#assertOpen();
    this.#addProducer(producer);
  }

  /** Closes one of the creator's producers (its consumers close with it). */
  closeProducer(producerId: string): void {
    this.#producers.get(producerId)?.close();
    this.#producers.delete(producerId);
  }

  /** Closes one of the creator's send transports and the producers on it (e.g. the creator's connection is gone). */
  closePublisherTransport(transportId: string): void {
    this.#publisherTransports.get(transportId)?.close();
  }

  /** Pauses or resumes one of the creator's producers (e.g. the creator muted the camera). */
  async setProducerPaused(producerId: string, paused: boolean): Promise<void> {
    const producer = this.#producers.get(producerId);
    if (!producer) throw new SfuBadRequestError(`unknown producer ${producerId}`);
    await (paused ? producer.pause() : producer.resume());
  }

  // ---- viewers ----

  /**
   * Admits a WebRTC viewer: reserves consumer budget on a router of the room (opening one on another worker through
   * pipeToRouter when the current ones are full) and creates its receive transport.
   * Throws CapacityFullError when no worker has budget left.
   */
  async addViewer(viewerId: string): Promise<TransportParams> {
    this.#assertOpen();
    if (this.#viewers.has(viewerId)) throw new SfuBadRequestError(`viewer ${viewerId} is already in the room`);
    const cost = Math.max(2, this.#producers.size);
    const rr = this.#reserve(cost);
    // Placeholder entry so a concurrent addViewer for the same id is refused.
    const pending = { id: viewerId, rr, cost } as Viewer;
    this.#viewers.set(viewerId, pending);
    let transport: types.WebRtcTransport | undefined;
    try {
      const router = await rr.ready;
      await Promise.all([...this.#producers.keys()].map((id) => this.#ensurePiped(rr, id)));
      this.#assertOpen();
      transport = await this.#createWebRtcTransport(router, { role: 'viewer', viewerId });
      this.#assertOpen();
      if (this.#viewers.get(viewerId) !== pending) {
        throw new SfuBadRequestError(`viewer ${viewerId} left while joining`);
      }
    } catch (err) {
      transport?.close();
      if (this.#viewers.get(viewerId) === pending) {
        this.#viewers.delete(viewerId);
        rr.slot.reserved -= cost;
      }
      throw err;
    }
    const viewer: Viewer = Object.assign(pending, {
      transport,
      consumers: new Map(),
      consumed: new Set<string>(),
      clientReady: new Set<string>(),
      enforcedPause: false,
      lastRtpBytesSent: 0,
    });
    transport.on('routerclose', () => this.#dropViewer(viewer, rr.slot.worker.died ? 'worker-died' : 'room-closed'));
    return transportParams(transport);
  }

  /**
   * Creates paused consumers for every producer the viewer does not consume yet and can decode.
   * The client resumes them with `resumeConsumer` once its side is ready.
   */
  async consume(viewerId: string, rtpCapabilities: types.RtpCapabilities): Promise<ConsumerParams[]> {
    this.#assertOpen();
    const viewer = this.#viewer(viewerId);
    const router = await viewer.rr.ready;
    const todo = [...this.#producers.keys()].filter((id) => !viewer.consumed.has(id));
    for (const id of todo) viewer.consumed.add(id);
    const out: ConsumerParams[] = [];
    for (const producerId of todo) {
      try {
        await this.#ensurePiped(viewer.rr, producerId);
        if (!router.canConsume({ producerId, rtpCapabilities })) {
          viewer.consumed.delete(producerId);
          continue;
        }
        const consumer = await wrapBadRequest(() =>
          viewer.transport.consume({ producerId, rtpCapabilities, paused: true, appData: { viewerId } }),
        );
        viewer.consumers.set(consumer.id, consumer);
        watchLayers(consumer, (l) => this.emit('viewerLayers', { viewerId, ...l }));
        consumer.observer.once('close', () => {
          viewer.consumers.delete(consumer.id);
          viewer.clientReady.delete(consumer.id);
          viewer.consumed.delete(producerId);
        });
        out.push({
          id: consumer.id,
          producerId,
          kind: consumer.kind,
          rtpParameters: consumer.rtpParameters,
          producerPaused: consumer.producerPaused,
        });
      } catch (err) {
        viewer.consumed.delete(producerId);
        throw err;
      }
    }
    if (todo.length > 0 && out.length === 0) {
      throw new SfuBadRequestError('the viewer cannot decode any of the stream codecs');
    }
    return out;
  }

  /** The viewer's client is ready for a consumer (or all of them): media starts unless enforcement paused it. */
  async resumeConsumer(viewerId: string, consumerId?: string): Promise<void> {
    const viewer = this.#viewer(viewerId);
    const ids = consumerId === undefined ? [...viewer.consumers.keys()] : [consumerId];
    for (const id of ids) {
      if (!viewer.consumers.has(id)) throw new SfuBadRequestError(`unknown consumer ${id}`);
      viewer.clientReady.add(id);
    }
    if (!viewer.enforcedPause) await Promise.all(ids.map((id) => viewer.consumers.get(id)?.resume()));
  }

  /** The viewer's pick of simulcast layer for one of its own consumers (other viewers' ids are unknown here). */
  async setViewerLayers(viewerId: string, consumerId: string, pick: LayerPick): Promise<void> {
    const consumer = this.#viewer(viewerId).consumers.get(consumerId);
    if (!consumer) throw new SfuBadRequestError(`unknown consumer ${consumerId}`);
    await applyLayerPick(consumer, pick);
  }

  /** The layers a viewer's video consumer forwards now, if it has one. */
  viewerVideoLayers(viewerId: string): ViewerLayers | undefined {
    const c = [...this.#viewer(viewerId).consumers.values()].find((x) => x.kind === 'video');
    return c && currentLayersOf(c);
  }

  /** Payment enforcement: stops all media to the viewer at once (the client cannot undo it). */
  async pauseViewer(viewerId: string): Promise<void> {
    const viewer = this.#viewer(viewerId);
    viewer.enforcedPause = true;
    await Promise.all([...viewer.consumers.values()].map((c) => c.pause()));
  }

  /** Payment enforcement: lifts `pauseViewer`; consumers the client is ready for resume. */
  async resumeViewer(viewerId: string): Promise<void> {
    const viewer = this.#viewer(viewerId);
    viewer.enforcedPause = false;
    await Promise.all([...viewer.clientReady].map((id) => viewer.consumers.get(id)?.resume()));
  }

  /** Whether payment enforcement currently pauses the viewer. */
  isViewerPaused(viewerId: string): boolean {
    return this.#viewer(viewerId).enforcedPause;
  }

  /** Removes a viewer: closes its transport and consumers and releases its budget. Unknown ids are ignored. */
  removeViewer(viewerId: string): void {
    const viewer = this.#viewers.get(viewerId);
    if (!viewer) return;
    this.#viewers.delete(viewerId);
    viewer.rr.slot.reserved -= viewer.cost;
    // A viewer still joining has no transport yet: addViewer notices it left and closes what it created.
    viewer.transport?.close();
  }

  /**
   * Samples whether media is flowing to each viewer since the previous sample. Viewers that are paused, not
   * connected or whose producers are paused cost nothing; the others cost one transport stats request each.
   */
  async sampleFlow(): Promise<Map<string, ViewerFlow>> {
    const result = new Map<string, ViewerFlow>();
    const viewers = [...this.#viewers.values()].filter((v) => v.transport);
    await Promise.all(
      viewers.map(async (v) => {
        const active =
          !v.enforcedPause &&
          v.transport.dtlsState === 'connected' &&
          [...v.consumers.values()].some((c) => !c.paused && !c.producerPaused);
        if (!active) {
          result.set(v.id, { flowing: false, rtpBytes: 0 });
          return;
        }
        try {
          const [stats] = await v.transport.getStats();
          const sent = stats?.rtpBytesSent ?? 0;
          const delta = Math.max(0, sent - v.lastRtpBytesSent);
          v.lastRtpBytesSent = sent;
          result.set(v.id, { flowing: delta > 0, rtpBytes: delta });
        } catch {
          // The transport closed while sampling.
          result.set(v.id, { flowing: false, rtpBytes: 0 });
        }
      }),
    );
    return result;
  }

  // ---- HLS ----

  /** Registers an HLS viewer; starts the relay on the first one (resolves once ffmpeg runs). */
  async addHlsViewer(viewerId: string): Promise<void> {
    this.#assertOpen();
    this.#hlsViewers.add(viewerId);
    clearTimeout(this.#hlsLinger);
    this.#hlsLinger = undefined;
    try {
      await this.#startHls();
    } catch (err) {
      this.#hlsViewers.delete(viewerId);
      throw err;
    }
  }

  /** Unregisters an HLS viewer; the relay stops after the linger time once nobody watches over HLS. */
  removeHlsViewer(viewerId: string): void {
    if (this.#hlsViewers.delete(viewerId)) this.#lingerHls();
  }

  /**
   * Keeps the HLS relay running whenever the stream has video, with or without HLS viewers, and hands `tap` each
   * relay's output directory once its ffmpeg has exited, before the output is removed (a recording takes the last
   * segments there). `undefined` lets the relay go as it would without. No-op on a closed room.
   */
  keepHls(tap: ((dir: string) => Promise<void>) | undefined): void {
    if (this.#closing) return;
    this.#hlsTap = tap;
    if (!tap) this.#lingerHls();
    else if (!this.#hls && [...this.#producers.values()].some((p) => p.kind === 'video')) {
      this.#startHls().catch((err) => this.#log.error({ err }, 'could not start the hls relay'));
    }
  }

  /** Stops the relay after the linger time once nobody watches over HLS and nothing keeps it. */
  #lingerHls(): void {
    if (this.#hlsViewers.size > 0 || this.#hlsTap || !this.#hls) return;
    clearTimeout(this.#hlsLinger);
    this.#hlsLinger = setTimeout(() => {
      this.#hlsLinger = undefined;
      if (this.#hlsViewers.size === 0 && !this.#hlsTap) this.stopHls().catch(() => {});
    }, this.#cfg.hlsLingerMs);
  }

  /** Ids of the viewers watching over HLS. */
  get hlsViewerIds(): string[] {
    return [...this.#hlsViewers];
  }

  /** The running HLS relay, if any. */
  get hlsRelay(): HlsRelay | undefined {
    return this.#hlsRelay;
  }

  /** Stops the HLS relay now (no-op when none runs). */
  async stopHls(): Promise<void> {
    clearTimeout(this.#hlsLinger);
    this.#hlsLinger = undefined;
    clearTimeout(this.#hlsRefresh);
    this.#hlsRefresh = undefined;
    const starting = this.#hls;
    this.#hls = undefined;
    this.#hlsRelay = undefined;
    if (!starting) return;
    const relay = await starting.catch(() => undefined);
    await relay?.close();
    if (relay && !this.#closing) this.emit('hlsStopped');
  }

  #startHls(): Promise<HlsRelay> {
    if (!this.#hls) {
      const dir = hlsDirOf(this.#cfg.hlsDir, this.streamId);
      if (!dir)
        return Promise.reject(new SfuBadRequestError(`stream id ${this.streamId} cannot name an HLS directory`));
      const starting = HlsRelay.start({
        router: this.#origin.router!,
        producers: this.producers,
        dir,
        ffmpegPath: this.#cfg.ffmpegPath,
        segmentSeconds: this.#cfg.hlsSegmentSeconds,
        ladder: this.#cfg.hlsLadder,
        logger: this.#log,
        beforeRemove: (output) => this.#hlsTap?.(output) ?? Promise.resolve(),
      });
      this.#hls = starting;
      starting.then(
        (relay) => {
          if (this.#hls !== starting) return;
          this.#hlsRelay = relay;
          relay.on('restart', (e) => this.emit('hlsRestart', e));
        },
        () => {
          if (this.#hls === starting) this.#hls = undefined;
        },
      );
    }
    return this.#hls;
  }

  /** Closes every router of the room (and so every transport, producer and consumer). Safe to call twice. */
  close(reason: RoomCloseReason = 'closed'): Promise<void> {
    this.#closing ??= (async () => {
      this.#closeReason = reason;
      this.#log.info({ reason }, 'room closing');
      for (const v of this.#viewers.values()) v.rr.slot.reserved -= v.cost;
      this.#viewers.clear();
      this.#hlsViewers.clear();
      await this.stopHls();
      this.#hlsTap = undefined;
      for (const rr of this.#routers) {
        if (rr.router) rr.router.close();
        else
          rr.ready.then(
            (r) => r.close(),
            () => {},
          );
      }
      await Promise.allSettled(this.#routers.map((rr) => rr.ready));
      this.#onClosed(this);
      this.emit('close', { reason });
    })();
    return this.#closing;
  }

  // ---- internals ----

  #assertOpen(): void {
    if (this.#closing) throw new RoomClosedError(this.streamId);
  }

  #viewer(viewerId: string): Viewer {
    const v = this.#viewers.get(viewerId);
    if (!v?.transport) throw new SfuBadRequestError(`unknown viewer ${viewerId}`);
    return v;
  }

  #addProducer(producer: types.Producer): void {
    this.#producers.set(producer.id, producer);
    producer.observer.once('close', () => {
      this.#producers.delete(producer.id);
      if (this.#closing) return;
      this.emit('producerClosed', { producerId: producer.id });
      this.#refreshHls();
    });
    for (const rr of this.#routers) {
      if (rr !== this.#origin) this.#ensurePiped(rr, producer.id).catch(() => {});
    }
    this.emit('newProducer', { producerId: producer.id, kind: producer.kind });
    this.#refreshHls();
  }

  /** The relay consumes the producers present when it started: rebuild it when the creator's producers change. */
  #refreshHls(): void {
    const wanted = this.#hlsViewers.size > 0 || this.#hlsTap !== undefined;
    if ((!this.#hls && !wanted) || this.#hlsRefresh) return;
    this.#hlsRefresh = setTimeout(async () => {
      this.#hlsRefresh = undefined;
      if (this.#closing) return;
      await this.stopHls();
      const hasVideo = [...this.#producers.values()].some((p) => p.kind === 'video');
      if ((this.#hlsViewers.size > 0 || this.#hlsTap) && !this.#closing && hasVideo) {
        await this.#startHls().catch((err) => this.#log.error({ err }, 'could not restart the hls relay'));
      }
    }, HLS_REFRESH_DELAY_MS);
  }

  /** Picks a router with budget for `cost` consumers and reserves it, opening a router on another worker if needed. */
  #reserve(cost: number): RoomRouter {
    const budget = this.#cfg.consumersPerWorker;
    const fits = (slot: PooledWorker) => !slot.worker.closed && slot.reserved + cost <= budget;
    let rr = this.#routers.find((r) => fits(r.slot) && !r.router?.closed);
    if (!rr) {
      const used = new Set(this.#routers.map((r) => r.slot.index));
      const candidates = this.#pool.workers
        .filter((s) => !used.has(s.index) && fits(s))
        .sort((a, b) => a.reserved - b.reserved || a.routers - b.routers);
      const slot = candidates[0];
      if (!slot) {
        this.emit('capacityFull');
        throw new CapacityFullError(`stream ${this.streamId}: every worker is at its consumer budget`);
      }
      rr = this.#openRouter(slot);
    }
    rr.slot.reserved += cost;
    return rr;
  }

  #openRouter(slot: PooledWorker): RoomRouter {
    const rr: RoomRouter = { slot, ready: Promise.resolve() as never, piped: new Map() };
    rr.ready = slot.worker
      .createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS, appData: { streamId: this.streamId } })
      .then((router) => {
        rr.router = router;
        if (this.#closing) router.close();
        this.#watchRouter(rr);
        return router;
      });
    rr.ready.catch((err) => {
      this.#log.error({ err, worker: slot.index }, 'could not open a fan-out router');
      this.#forgetRouter(rr);
    });
    this.#routers.push(rr);
    this.#log.info({ worker: slot.index }, 'fan-out router opened');
    return rr;
  }

  #watchRouter(rr: RoomRouter): void {
    const router = rr.router!;
    router.observer.once('close', () => {
      this.#forgetRouter(rr);
      if (rr === this.#origin && !this.#closing) {
        this.close(rr.slot.worker.died ? 'worker-died' : 'closed').catch(() => {});
      }
    });
  }

  #forgetRouter(rr: RoomRouter): void {
    const i = this.#routers.indexOf(rr);
    if (i >= 0) this.#routers.splice(i, 1);
  }

  #ensurePiped(rr: RoomRouter, producerId: string): Promise<void> {
    if (rr === this.#origin) return Promise.resolve();
    let p = rr.piped.get(producerId);
    if (!p) {
      p = rr.ready.then(async (router) => {
        await this.#origin.router!.pipeToRouter({
          producerId,
          router,
          listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
        });
      });
      p.catch(() => rr.piped.delete(producerId));
      rr.piped.set(producerId, p);
    }
    return p;
  }

  #dropViewer(viewer: Viewer, reason: ViewerCloseReason): void {
    if (this.#viewers.get(viewer.id) !== viewer) return;
    this.#viewers.delete(viewer.id);
    viewer.rr.slot.reserved -= viewer.cost;
    if (!this.#closing) this.emit('viewerClosed', { viewerId: viewer.id, reason });
  }

  #createWebRtcTransport(router: types.Router, appData: Record<string, unknown>): Promise<types.WebRtcTransport> {
    const { listenIp, announcedIp, rtcMinPort, rtcMaxPort } = this.#cfg;
    const base = { ip: listenIp, announcedAddress: announcedIp, portRange: { min: rtcMinPort, max: rtcMaxPort } };
    return router.createWebRtcTransport({
      listenInfos: [
        { protocol: 'udp', ...base },
        { protocol: 'tcp', ...base },
      ],
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: 1_000_000,
      appData,
    });
  }
}

function transportParams(t: types.WebRtcTransport): TransportParams {
  return { id: t.id, iceParameters: t.iceParameters, iceCandidates: t.iceCandidates, dtlsParameters: t.dtlsParameters };
}

/** mediasoup reports unusable client parameters as TypeError / UnsupportedError: those are the caller's fault. */
async function wrapBadRequest<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'TypeError' || name === 'UnsupportedError') {
      throw new SfuBadRequestError((err as Error).message, { cause: err });
    }
    throw err;
  }
}
