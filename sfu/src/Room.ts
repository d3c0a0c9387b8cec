import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { SfuConfig } from './config.ts';
import { RoomClosedError, SfuBadRequestError } from './errors.ts';
import type { HlsRelay } from './hls/HlsRelay.ts';
import type { StageLayout } from './hls/stagePlan.ts';
import type { LayerPick, ViewerLayers } from './layers.ts';
import { ActiveSpeaker } from './room/ActiveSpeaker.ts';
import { FanOut } from './room/FanOut.ts';
import {
  HOST_PARTICIPANT_ID,
  type Participant,
  type ProducerInfo,
  type ProducerSource,
  sourceOf,
} from './room/Participant.ts';
import { Participants } from './room/Participants.ts';
import { RoomHls } from './room/RoomHls.ts';
import { type ConsumerParams, RoomViewer, type ViewerCloseReason, type ViewerFlow } from './room/RoomViewer.ts';
import { createWebRtcTransport, type TransportParams, transportParams, wrapBadRequest } from './room/transports.ts';
import type { WorkerPool } from './WorkerPool.ts';

export type { ConsumerParams, ViewerCloseReason, ViewerFlow } from './room/RoomViewer.ts';
export type { TransportParams } from './room/transports.ts';

export type RoomCloseReason = 'closed' | 'worker-died' | 'sfu-closed';

export type RoomEvents = {
  /** A participant added a producer; viewers should `consume()` again to receive it. */
  newProducer: [{ producerId: string; kind: types.MediaKind; participantId: string; source: ProducerSource }];
  producerClosed: [{ producerId: string; participantId: string }];
  /** A producer was paused or resumed (`setProducerPaused`: its publisher muted, or the host force-muted it). */
  producerPaused: [{ producerId: string; participantId: string; paused: boolean }];
  /** A participant left the room (`closeParticipant`, or the room closed); its producers closed before. */
  participantClosed: [{ participantId: string }];
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
  /** Another participant became the dominant speaker (mediasoup's ActiveSpeakerObserver on the audio producers). */
  activeSpeaker: [{ participantId: string; producerId: string }];
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

/**
 * The media room of one stream, made of parts that each own their state and close cascade: the fan-out (an origin
 * router on the least-loaded worker holding every producer, plus routers on other workers fed by pipeToRouter once
 * the origin's worker reaches its consumer budget), the participants who publish (the host, and co-hosts and guests
 * on stage), the WebRTC viewers, the HLS relay (the host's media, or the stage composed) and the active speaker. Each
 * part tells the room when it closes.
 */
export class Room extends EventEmitter<RoomEvents> {
  readonly streamId: string;
  readonly #cfg: RoomConfig;
  readonly #log: Logger;
  readonly #fanOut: FanOut;
  readonly #participants: Participants;
  readonly #viewers = new Map<string, RoomViewer>();
  readonly #hls: RoomHls;
  readonly #speaker: ActiveSpeaker;
  #layout: StageLayout | undefined;
  #closing: Promise<void> | undefined;
  #closeReason: RoomCloseReason | undefined;
  /** Called once the room is closed, before the 'close' event (the Sfu unregisters the room here). */
  readonly #onClosed: (room: Room) => void;

  private constructor(
    streamId: string,
    cfg: RoomConfig,
    logger: Logger,
    fanOut: FanOut,
    onClosed: (room: Room) => void,
  ) {
    super();
    this.streamId = streamId;
    this.#cfg = cfg;
    this.#log = logger.child({ part: 'room', streamId });
    this.#fanOut = fanOut;
    this.#onClosed = onClosed;
    fanOut.on('capacityFull', () => this.emit('capacityFull'));
    fanOut.on('@originClose', ({ workerDied }) => {
      if (!this.#closing) this.close(workerDied ? 'worker-died' : 'closed').catch(() => {});
    });
    this.#participants = new Participants(fanOut.originRouter, cfg, this.#log);
    this.#participants.on('producer', (participant, producer) => this.#onProducer(participant, producer));
    this.#participants.on('producerClose', (participant, producer) => this.#onProducerClose(participant, producer));
    this.#participants.on('participantClose', (participant) => {
      this.#speaker.forget(participant.id);
      if (!this.#closing) this.emit('participantClosed', { participantId: participant.id });
    });
    this.#speaker = new ActiveSpeaker(fanOut.originRouter, (id) => this.#participants.ownerOf(id)?.id, this.#log);
    this.#speaker.on('speaker', (e) => {
      if (!this.#closing) this.emit('activeSpeaker', e);
    });
    // One participant's media as it comes, or the stage composed (sfu/src/hls/stagePlan.ts).
    this.#hls = new RoomHls(
      streamId,
      cfg,
      {
        router: () => fanOut.originRouter,
        producers: () => this.#participants.list(),
        layout: () => this.#layout,
      },
      this.#log,
    );
    this.#hls.on('restart', (e) => this.emit('hlsRestart', e));
    this.#hls.on('stopped', () => {
      if (!this.#closing) this.emit('hlsStopped');
    });
  }

  /** Opens a room with its origin router on the least-loaded worker. */
  static async create(
    streamId: string,
    pool: WorkerPool,
    cfg: RoomConfig,
    logger: Logger,
    onClosed: (room: Room) => void = () => {},
  ): Promise<Room> {
    const fanOut = await FanOut.open(streamId, pool, cfg.consumersPerWorker, logger);
    return new Room(streamId, cfg, logger, fanOut, onClosed);
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
    return this.#fanOut.originRouter.rtpCapabilities;
  }

  /** The router holding every producer (HLS relay and tests consume from it). */
  get originRouter(): types.Router {
    return this.#fanOut.originRouter;
  }

  /** Whether any producer is sending (not paused); cheap enough to ask once per viewer and second. */
  get producing(): boolean {
    return this.#participants.producing;
  }

  /** Every live producer of the room (the host's first): id, kind, codec, paused state, participant and source. */
  get producers(): ProducerInfo[] {
    return this.#participants.list();
  }

  /** Ids of the participants publishing (or able to) in the room. */
  get participantIds(): string[] {
    return this.#participants.ids;
  }

  /** Ids of the WebRTC viewers in the room. */
  get viewerIds(): string[] {
    return [...this.#viewers.keys()];
  }

  /** Worker slot index each router of the room lives on (origin first). */
  get workerIndexes(): number[] {
    return this.#fanOut.workerIndexes;
  }

  /** Worker slot index serving a viewer. */
  viewerWorkerIndex(viewerId: string): number {
    return this.#viewer(viewerId).rr.slot.index;
  }

  // ---- participants (publishers) ----

  /** Creates a WebRTC transport for a participant (the host unless named) to send on. */
  async createPublisherTransport(participantId: string = HOST_PARTICIPANT_ID): Promise<TransportParams> {
    this.#assertOpen();
    return this.#participants.join(participantId).createTransport();
  }

  /** One of the participants' send transports, to follow its ICE and DTLS states (e.g. an ingest session's). */
  publisherTransport(transportId: string): types.WebRtcTransport | undefined {
    return this.#participants.transport(transportId)?.transport;
  }

  /** The participant owning a send transport, if any. */
  transportOwner(transportId: string): string | undefined {
    return this.#participants.transport(transportId)?.participant.id;
  }

  /** The participant of a live producer, if any. */
  producerOwner(producerId: string): string | undefined {
    return this.#participants.ownerOf(producerId)?.id;
  }

  /** Completes DTLS on a publisher or viewer transport (mediasoup-client 'connect' event). */
  async connectTransport(transportId: string, dtlsParameters: types.DtlsParameters): Promise<void> {
    this.#assertOpen();
    const transport =
      this.publisherTransport(transportId) ??
      [...this.#viewers.values()].find((v) => v.transport?.id === transportId)?.transport;
    if (!transport) throw new SfuBadRequestError(`unknown transport ${transportId}`);
    await wrapBadRequest(() => transport.connect({ dtlsParameters }));
  }

  /** Creates a producer on a publisher transport (mediasoup-client 'produce' event) and pipes it to every router. */
  async produce(
    transportId: string,
    kind: types.MediaKind,
    rtpParameters: types.RtpParameters,
    source?: ProducerSource,
  ): Promise<string> {
    this.#assertOpen();
    const owner = this.#participants.transport(transportId)?.participant;
    if (!owner) throw new SfuBadRequestError(`unknown publisher transport ${transportId}`);
    const producer = await owner.produce(transportId, kind, rtpParameters, source);
    return producer.id;
  }

  /** Adds a producer created elsewhere on the origin router (e.g. a PlainTransport ingest) as the host's, or another's. */
  adoptProducer(producer: types.Producer, participantId: string = HOST_PARTICIPANT_ID): void {
    this.#assertOpen();
    this.#participants.join(participantId).adopt(producer);
  }

  /** Closes one producer (its consumers close with it); unknown ids are ignored. */
  closeProducer(producerId: string): void {
    this.#participants.ownerOf(producerId)?.closeProducer(producerId);
  }

  /** Closes one send transport and the producers on it (e.g. its participant's connection is gone). */
  closePublisherTransport(transportId: string): void {
    this.#participants.transport(transportId)?.participant.closeTransport(transportId);
  }

  /** Pauses or resumes one producer (the publisher muted, or the host force-muted it). */
  async setProducerPaused(producerId: string, paused: boolean): Promise<void> {
    const owner = this.#participants.ownerOf(producerId);
    const producer = owner?.producer(producerId);
    if (!owner || !producer) throw new SfuBadRequestError(`unknown producer ${producerId}`);
    await (paused ? producer.pause() : producer.resume());
    // A composed relay leaves paused producers out.
    this.#hls.refresh();
    if (!this.#closing) this.emit('producerPaused', { producerId, participantId: owner.id, paused });
  }

  /** Closes a participant with its transports and producers (it left the stage); unknown ids are ignored. */
  closeParticipant(participantId: string): void {
    this.#participants.close(participantId);
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
    const cost = Math.max(2, this.#participants.producerIds.length);
    const rr = this.#fanOut.reserve(cost);
    // In the room from now on, so a concurrent addViewer for the same id is refused.
    const viewer = new RoomViewer(viewerId, rr, cost);
    this.#viewers.set(viewerId, viewer);
    viewer.once('@close', ({ reason }) => {
      if (this.#viewers.get(viewerId) === viewer) this.#viewers.delete(viewerId);
      this.#fanOut.release(rr, cost);
      if (reason !== 'left' && !this.#closing) this.emit('viewerClosed', { viewerId, reason });
    });
    viewer.on('layers', (l) => this.emit('viewerLayers', { viewerId, ...l }));
    let transport: types.WebRtcTransport | undefined;
    try {
      const router = await rr.ready;
      await Promise.all(this.#participants.producerIds.map((id) => this.#fanOut.ensurePiped(rr, id)));
      this.#assertOpen();
      transport = await createWebRtcTransport(router, this.#cfg, { role: 'viewer', viewerId });
      this.#assertOpen();
      viewer.attach(transport, () => rr.slot.worker.died);
    } catch (err) {
      transport?.close();
      viewer.close('left');
      throw err;
    }
    return transportParams(transport);
  }

  /**
   * Creates paused consumers for every producer the viewer does not consume yet and can decode.
   * The client resumes them with `resumeConsumer` once its side is ready.
   */
  async consume(viewerId: string, rtpCapabilities: types.RtpCapabilities): Promise<ConsumerParams[]> {
    this.#assertOpen();
    const viewer = this.#viewer(viewerId);
    return viewer.consume(this.#participants.producerIds, rtpCapabilities, (id) =>
      this.#fanOut.ensurePiped(viewer.rr, id),
    );
  }

  /** The viewer's client is ready for a consumer (or all of them): media starts unless enforcement paused it. */
  async resumeConsumer(viewerId: string, consumerId?: string): Promise<void> {
    return this.#viewer(viewerId).resume(consumerId);
  }

  /** The viewer's pick of simulcast layer for one of its own consumers (other viewers' ids are unknown here). */
  async setViewerLayers(viewerId: string, consumerId: string, pick: LayerPick): Promise<void> {
    return this.#viewer(viewerId).setLayers(consumerId, pick);
  }

  /** The layers a viewer's video consumer forwards now, if it has one. */
  viewerVideoLayers(viewerId: string): ViewerLayers | undefined {
    return this.#viewer(viewerId).videoLayers();
  }

  /** Payment enforcement: stops all media to the viewer at once (the client cannot undo it). */
  async pauseViewer(viewerId: string): Promise<void> {
    return this.#viewer(viewerId).enforcePause();
  }

  /** Payment enforcement: lifts `pauseViewer`; consumers the client is ready for resume. */
  async resumeViewer(viewerId: string): Promise<void> {
    return this.#viewer(viewerId).liftPause();
  }

  /** Whether payment enforcement currently pauses the viewer. */
  isViewerPaused(viewerId: string): boolean {
    return this.#viewer(viewerId).enforcedPause;
  }

  /** Removes a viewer: closes its transport and consumers and releases its budget. Unknown ids are ignored. */
  removeViewer(viewerId: string): void {
    this.#viewers.get(viewerId)?.close('left');
  }

  /**
   * Samples whether media is flowing to each viewer since the previous sample. Viewers that are paused, not
   * connected or whose producers are paused cost nothing; the others cost one transport stats request each.
   */
  async sampleFlow(): Promise<Map<string, ViewerFlow>> {
    const viewers = [...this.#viewers.values()].filter((v) => v.transport);
    const flows = await Promise.all(viewers.map((v) => v.sample()));
    return new Map(viewers.map((v, i) => [v.id, flows[i]!]));
  }

  // ---- HLS ----

  /** Registers an HLS viewer; starts the relay on the first one (resolves once ffmpeg runs). */
  async addHlsViewer(viewerId: string): Promise<void> {
    this.#assertOpen();
    await this.#hls.addViewer(viewerId);
  }

  /** Unregisters an HLS viewer; the relay stops after the linger time once nobody watches over HLS. */
  removeHlsViewer(viewerId: string): void {
    this.#hls.removeViewer(viewerId);
  }

  /**
   * Keeps the HLS relay running whenever the stream has video, with or without HLS viewers, and hands `tap` each
   * relay's output directory once its ffmpeg has exited, before the output is removed (a recording takes the last
   * segments there). `undefined` lets the relay go as it would without. No-op on a closed room.
   */
  keepHls(tap: ((dir: string) => Promise<void>) | undefined): void {
    if (this.#closing) return;
    this.#hls.keep(tap);
  }

  /**
   * How the HLS relay composes several videos: 'grid', or 'spotlight' (one large, the others small); `undefined`
   * (the default) is spotlight while someone shares a screen, else grid. Rebuilds a composing relay.
   */
  setHlsLayout(layout: StageLayout | undefined): void {
    if (this.#closing || layout === this.#layout) return;
    this.#layout = layout;
    this.#hls.refresh();
  }

  /** The layout set with `setHlsLayout`, if any. */
  get hlsLayout(): StageLayout | undefined {
    return this.#layout;
  }

  /** The participant speaking now (the last dominant speaker), if any yet. */
  get activeSpeaker(): string | undefined {
    return this.#speaker.current;
  }

  /** Ids of the viewers watching over HLS. */
  get hlsViewerIds(): string[] {
    return this.#hls.viewerIds;
  }

  /** The running HLS relay, if any. */
  get hlsRelay(): HlsRelay | undefined {
    return this.#hls.relay;
  }

  /** Stops the HLS relay now (no-op when none runs). */
  async stopHls(): Promise<void> {
    return this.#hls.stop();
  }

  /** Closes the viewers, participants, HLS relay and every router of the room. Safe to call twice. */
  close(reason: RoomCloseReason = 'closed'): Promise<void> {
    this.#closing ??= (async () => {
      this.#closeReason = reason;
      this.#log.info({ reason }, 'room closing');
      for (const v of [...this.#viewers.values()]) v.close('room-closed');
      await this.#hls.close();
      this.#speaker.close();
      this.#participants.closeAll();
      await this.#fanOut.close();
      this.#onClosed(this);
      this.emit('close', { reason });
    })();
    return this.#closing;
  }

  // ---- internals ----

  #assertOpen(): void {
    if (this.#closing) throw new RoomClosedError(this.streamId);
  }

  #viewer(viewerId: string): RoomViewer {
    const v = this.#viewers.get(viewerId);
    if (!v?.transport) throw new SfuBadRequestError(`unknown viewer ${viewerId}`);
    return v;
  }

  #onProducer(participant: Participant, producer: types.Producer): void {
    this.#fanOut.pipeEverywhere(producer.id);
    const source = sourceOf(producer);
    this.emit('newProducer', { producerId: producer.id, kind: producer.kind, participantId: participant.id, source });
    this.#speaker.add(producer);
    this.#hls.refresh();
  }

  #onProducerClose(participant: Participant, producer: types.Producer): void {
    if (this.#closing) return;
    this.emit('producerClosed', { producerId: producer.id, participantId: participant.id });
    this.#hls.refresh();
  }
}
