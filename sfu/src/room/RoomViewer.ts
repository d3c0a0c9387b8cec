import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { SfuBadRequestError } from '../errors.ts';
import { applyLayerPick, currentLayersOf, type LayerPick, type ViewerLayers, watchLayers } from '../layers.ts';
import type { RoomRouter } from './FanOut.ts';
import { wrapBadRequest } from './transports.ts';

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

export type RoomViewerEvents = {
  /** The simulcast layer one of its video consumers forwards changed. */
  layers: [ViewerLayers];
  /** The viewer is gone (its transport is closed and its budget may be released). */
  '@close': [{ reason: ViewerCloseReason }];
};

/**
 * One WebRTC viewer of a room: the consumer budget it reserved on a router, its receive transport (set once created),
 * its consumers, what its client said it is ready for, and the pause payment enforcement holds it in. `close()`
 * (idempotent) closes its transport and emits `@close` to the room, which releases its budget.
 */
export class RoomViewer extends EventEmitter<RoomViewerEvents> {
  readonly id: string;
  readonly rr: RoomRouter;
  readonly cost: number;
  #transport: types.WebRtcTransport | undefined;
  readonly #consumers = new Map<string, types.Consumer>();
  /** Producer ids being or already consumed (guards concurrent `consume()` calls). */
  readonly #consumed = new Set<string>();
  /** Consumers the client said it is ready for. */
  readonly #clientReady = new Set<string>();
  /** Paused by payment enforcement: overrides the client's resume. */
  #enforcedPause = false;
  #lastRtpBytesSent = 0;
  #closed = false;

  constructor(id: string, rr: RoomRouter, cost: number) {
    super();
    this.id = id;
    this.rr = rr;
    this.cost = cost;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The receive transport, once created (undefined while joining). */
  get transport(): types.WebRtcTransport | undefined {
    return this.#transport;
  }

  /** Whether payment enforcement pauses the viewer. */
  get enforcedPause(): boolean {
    return this.#enforcedPause;
  }

  /** Takes the receive transport made for it; a viewer closed meanwhile closes it and refuses. */
  attach(transport: types.WebRtcTransport, workerDied: () => boolean): void {
    if (this.#closed) {
      transport.close();
      throw new SfuBadRequestError(`viewer ${this.id} left while joining`);
    }
    this.#transport = transport;
    transport.on('routerclose', () => this.close(workerDied() ? 'worker-died' : 'room-closed'));
  }

  /** Creates paused consumers for `producerIds` it does not consume yet and can decode (`pipe` makes them reachable). */
  async consume(
    producerIds: string[],
    rtpCapabilities: types.RtpCapabilities,
    pipe: (producerId: string) => Promise<void>,
  ): Promise<ConsumerParams[]> {
    const transport = this.#requireTransport();
    const router = await this.rr.ready;
    const todo = producerIds.filter((id) => !this.#consumed.has(id));
    for (const id of todo) this.#consumed.add(id);
    const out: ConsumerParams[] = [];
    for (const producerId of todo) {
      try {
        await pipe(producerId);
        if (!router.canConsume({ producerId, rtpCapabilities })) {
          this.#consumed.delete(producerId);
          continue;
        }
        const consumer = await wrapBadRequest(() =>
          transport.consume({ producerId, rtpCapabilities, paused: true, appData: { viewerId: this.id } }),
        );
        this.#consumers.set(consumer.id, consumer);
        watchLayers(consumer, (l) => this.emit('layers', l));
        consumer.observer.once('close', () => {
          this.#consumers.delete(consumer.id);
          this.#clientReady.delete(consumer.id);
          this.#consumed.delete(producerId);
        });
        out.push({
          id: consumer.id,
          producerId,
          kind: consumer.kind,
          rtpParameters: consumer.rtpParameters,
          producerPaused: consumer.producerPaused,
        });
      } catch (err) {
        this.#consumed.delete(producerId);
        throw err;
      }
    }
    if (todo.length > 0 && out.length === 0) {
      throw new SfuBadRequestError('the viewer cannot decode any of the stream codecs');
    }
    return out;
  }

  /** The client is ready for a consumer (or all of them): media starts unless enforcement paused it. */
  async resume(consumerId?: string): Promise<void> {
    const ids = consumerId === undefined ? [...this.#consumers.keys()] : [consumerId];
    for (const id of ids) {
      if (!this.#consumers.has(id)) throw new SfuBadRequestError(`unknown consumer ${id}`);
      this.#clientReady.add(id);
    }
    if (!this.#enforcedPause) await Promise.all(ids.map((id) => this.#consumers.get(id)?.resume()));
  }

  /** The viewer's pick of simulcast layer for one of its own consumers. */
  async setLayers(consumerId: string, pick: LayerPick): Promise<void> {
    const consumer = this.#consumers.get(consumerId);
    if (!consumer) throw new SfuBadRequestError(`unknown consumer ${consumerId}`);
    await applyLayerPick(consumer, pick);
  }

  /** The layers its video consumer forwards now, if it has one. */
  videoLayers(): ViewerLayers | undefined {
    const c = [...this.#consumers.values()].find((x) => x.kind === 'video');
    return c && currentLayersOf(c);
  }

  /** Payment enforcement: stops all media at once (the client cannot undo it). */
  async enforcePause(): Promise<void> {
    this.#enforcedPause = true;
    await Promise.all([...this.#consumers.values()].map((c) => c.pause()));
  }

  /** Payment enforcement lifted: consumers the client is ready for resume. */
  async liftPause(): Promise<void> {
    this.#enforcedPause = false;
    await Promise.all([...this.#clientReady].map((id) => this.#consumers.get(id)?.resume()));
  }

  /** Whether media reached the viewer since the previous sample; costs a stats request only when it may have. */
  async sample(): Promise<ViewerFlow> {
    const transport = this.#transport;
    const active =
      transport !== undefined &&
      !this.#enforcedPause &&
      transport.dtlsState === 'connected' &&
      [...this.#consumers.values()].some((c) => !c.paused && !c.producerPaused);
    if (!active) return { flowing: false, rtpBytes: 0 };
    try {
      const [stats] = await transport.getStats();
      const sent = stats?.rtpBytesSent ?? 0;
      const delta = Math.max(0, sent - this.#lastRtpBytesSent);
      this.#lastRtpBytesSent = sent;
      return { flowing: delta > 0, rtpBytes: delta };
    } catch {
      // The transport closed while sampling.
      return { flowing: false, rtpBytes: 0 };
    }
  }

  /** Closes its transport (and consumers) and tells the room with `@close` (idempotent). */
  close(reason: ViewerCloseReason = 'left'): void {
    if (this.#closed) return;
    this.#closed = true;
    // A viewer still joining has no transport yet: `attach` closes the one being made.
    this.#transport?.close();
    this.emit('@close', { reason });
    this.removeAllListeners();
  }

  #requireTransport(): types.WebRtcTransport {
    if (!this.#transport || this.#closed) throw new SfuBadRequestError(`unknown viewer ${this.id}`);
    return this.#transport;
  }
}
