import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { SfuBadRequestError } from '../errors.ts';
import {
  createWebRtcTransport,
  type TransportListen,
  type TransportParams,
  transportParams,
  wrapBadRequest,
} from './transports.ts';

/** What a producer carries: a camera, a microphone or a shared screen (an ingest's video counts as camera). */
export const PRODUCER_SOURCES = ['camera', 'microphone', 'screen'] as const;
export type ProducerSource = (typeof PRODUCER_SOURCES)[number];

/** The participant id of the stream's creator (its studio and its ingests publish as the host). */
export const HOST_PARTICIPANT_ID = 'host';

/** Upper bound of what a participant may send into one publisher transport. */
const MAX_PUBLISHER_BITRATE = 5_000_000;
/** A participant needs one send transport; a few more allow reconnects without leaking. */
const MAX_PUBLISHER_TRANSPORTS = 4;

/** One live producer as the room lists it. */
export interface ProducerInfo {
  id: string;
  kind: types.MediaKind;
  mimeType: string;
  paused: boolean;
  participantId: string;
  source: ProducerSource;
}

export type ParticipantEvents = {
  producer: [types.Producer];
  producerClose: [types.Producer];
  /** The participant closed (its transports and producers are closed). */
  '@close': [];
};

/** The source a producer was created with, or the one its kind implies. */
export function sourceOf(producer: types.Producer): ProducerSource {
  const source = (producer.appData as { source?: unknown }).source;
  if ((PRODUCER_SOURCES as readonly unknown[]).includes(source)) return source as ProducerSource;
  return producer.kind === 'audio' ? 'microphone' : 'camera';
}

/**
 * One publisher of a room (the host, a co-host or a guest on stage): its send transports on the origin router and the
 * producers on them or adopted from elsewhere (an ingest's). `close()` (idempotent) closes its transports and producers
 * and emits `@close` to the room.
 */
export class Participant extends EventEmitter<ParticipantEvents> {
  readonly id: string;
  readonly #router: types.Router;
  readonly #listen: TransportListen;
  readonly #log: Logger;
  readonly #transports = new Map<string, types.WebRtcTransport>();
  readonly #producers = new Map<string, types.Producer>();
  #closed = false;

  constructor(id: string, router: types.Router, listen: TransportListen, log: Logger) {
    super();
    this.id = id;
    this.#router = router;
    this.#listen = listen;
    this.#log = log.child({ participantId: id });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The participant's live producers. */
  get producers(): types.Producer[] {
    return [...this.#producers.values()];
  }

  /** One of the participant's producers. */
  producer(producerId: string): types.Producer | undefined {
    return this.#producers.get(producerId);
  }

  /** One of the participant's send transports. */
  transport(transportId: string): types.WebRtcTransport | undefined {
    return this.#transports.get(transportId);
  }

  /** Creates a WebRTC transport for the participant to send on. */
  async createTransport(): Promise<TransportParams> {
    this.#assertOpen();
    if (this.#transports.size >= MAX_PUBLISHER_TRANSPORTS) {
      throw new SfuBadRequestError(`a participant has at most ${MAX_PUBLISHER_TRANSPORTS} publisher transports`);
    }
    const transport = await createWebRtcTransport(this.#router, this.#listen, {
      role: 'publisher',
      participantId: this.id,
    });
    // Closed while the transport was being made: it must not outlive the participant.
    if (this.#closed) {
      transport.close();
      this.#assertOpen();
    }
    await transport.setMaxIncomingBitrate(MAX_PUBLISHER_BITRATE);
    this.#transports.set(transport.id, transport);
    transport.observer.once('close', () => this.#transports.delete(transport.id));
    return transportParams(transport);
  }

  /** Creates a producer on one of the participant's transports. */
  async produce(
    transportId: string,
    kind: types.MediaKind,
    rtpParameters: types.RtpParameters,
    source?: ProducerSource,
  ): Promise<types.Producer> {
    this.#assertOpen();
    const transport = this.#transports.get(transportId);
    if (!transport) throw new SfuBadRequestError(`unknown publisher transport ${transportId}`);
    const appData = { participantId: this.id, source: source ?? (kind === 'audio' ? 'microphone' : 'camera') };
    const producer = await wrapBadRequest(() => transport.produce({ kind, rtpParameters, appData }));
    this.adopt(producer);
    return producer;
  }

  /** Takes a producer created elsewhere on the origin router (e.g. a PlainTransport ingest). */
  adopt(producer: types.Producer): void {
    this.#assertOpen();
    this.#producers.set(producer.id, producer);
    producer.observer.once('close', () => {
      this.#producers.delete(producer.id);
      this.emit('producerClose', producer);
    });
    this.emit('producer', producer);
  }

  /** Closes one of the participant's producers (its consumers close with it); unknown ids are ignored. */
  closeProducer(producerId: string): void {
    this.#producers.get(producerId)?.close();
  }

  /** Closes one of the participant's transports and the producers on it; unknown ids are ignored. */
  closeTransport(transportId: string): void {
    this.#transports.get(transportId)?.close();
  }

  /** Closes the transports and producers (idempotent) and tells the room with `@close`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of [...this.#transports.values()]) t.close();
    for (const p of [...this.#producers.values()]) p.close();
    this.#log.debug('participant closed');
    this.emit('@close');
    this.removeAllListeners();
  }

  #assertOpen(): void {
    if (this.#closed) throw new SfuBadRequestError(`participant ${this.id} has left the room`);
  }
}
