import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { HOST_PARTICIPANT_ID, Participant, type ProducerInfo, sourceOf } from './Participant.ts';
import type { TransportListen } from './transports.ts';

export type ParticipantsEvents = {
  producer: [Participant, types.Producer];
  producerClose: [Participant, types.Producer];
  participantClose: [Participant];
};

/**
 * The publishers of a room by id (the host always first), and which of them owns each live producer and transport.
 * Each participant tells this collection when it closes; `closeAll()` closes them all.
 */
export class Participants extends EventEmitter<ParticipantsEvents> {
  readonly #router: types.Router;
  readonly #listen: TransportListen;
  readonly #log: Logger;
  readonly #byId = new Map<string, Participant>();
  readonly #producerOwner = new Map<string, Participant>();

  constructor(router: types.Router, listen: TransportListen, log: Logger) {
    super();
    this.#router = router;
    this.#listen = listen;
    this.#log = log;
    // The host is first in the lists (what the thumbnail follows), whoever publishes first.
    this.join(HOST_PARTICIPANT_ID);
  }

  /** Ids of the participants (the host first). */
  get ids(): string[] {
    return [...this.#byId.keys()];
  }

  /** Ids of every live producer. */
  get producerIds(): string[] {
    return [...this.#producerOwner.keys()];
  }

  /** Whether any producer is sending (not paused). */
  get producing(): boolean {
    for (const participant of this.#byId.values()) {
      for (const p of participant.producers) if (!p.paused) return true;
    }
    return false;
  }

  /** Every live producer, the host's first. */
  list(): ProducerInfo[] {
    const participants = [...this.#byId.values()].sort(
      (a, b) => Number(b.id === HOST_PARTICIPANT_ID) - Number(a.id === HOST_PARTICIPANT_ID),
    );
    return participants.flatMap((participant) =>
      participant.producers.map((p) => ({
        id: p.id,
        kind: p.kind,
        mimeType: p.rtpParameters.codecs[0]?.mimeType ?? '',
        paused: p.paused,
        participantId: participant.id,
        source: sourceOf(p),
      })),
    );
  }

  /** The host's live producers. */
  hostProducers(): types.Producer[] {
    return this.#byId.get(HOST_PARTICIPANT_ID)?.producers ?? [];
  }

  /** A participant, joined on first use. */
  join(participantId: string): Participant {
    let participant = this.#byId.get(participantId);
    if (participant) return participant;
    const p = new Participant(participantId, this.#router, this.#listen, this.#log);
    this.#byId.set(participantId, p);
    p.on('producer', (producer) => {
      this.#producerOwner.set(producer.id, p);
      this.emit('producer', p, producer);
    });
    p.on('producerClose', (producer) => {
      this.#producerOwner.delete(producer.id);
      this.emit('producerClose', p, producer);
    });
    p.once('@close', () => {
      if (this.#byId.get(participantId) === p) this.#byId.delete(participantId);
      this.emit('participantClose', p);
    });
    participant = p;
    return participant;
  }

  /** The participant owning a live producer. */
  ownerOf(producerId: string): Participant | undefined {
    return this.#producerOwner.get(producerId);
  }

  /** The participant owning a send transport, with it. */
  transport(transportId: string): { participant: Participant; transport: types.WebRtcTransport } | undefined {
    for (const participant of this.#byId.values()) {
      const transport = participant.transport(transportId);
      if (transport) return { participant, transport };
    }
    return undefined;
  }

  /** Closes one participant (unknown ids are ignored). */
  close(participantId: string): void {
    this.#byId.get(participantId)?.close();
  }

  /** Closes every participant. */
  closeAll(): void {
    for (const p of [...this.#byId.values()]) p.close();
  }
}
