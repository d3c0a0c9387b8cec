import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';

/** How often mediasoup reconsiders the dominant speaker, ms (its default is 300). */
const INTERVAL_MS = 300;

export type ActiveSpeakerEvents = {
  /** A participant became the dominant speaker (mediasoup's ActiveSpeakerObserver over the audio producers). */
  speaker: [{ participantId: string; producerId: string }];
};

/**
 * The room's active speaker: mediasoup's ActiveSpeakerObserver on the origin router over every audio producer, told
 * apart by the audio level each publisher writes in its RTP (the `ssrc-audio-level` header extension browsers and
 * libwebrtc send; a producer without it, e.g. an RTMP ingest's, never becomes the speaker). Closed producers leave the
 * observer by themselves. `close()` (idempotent) closes the observer.
 */
export class ActiveSpeaker extends EventEmitter<ActiveSpeakerEvents> {
  readonly #log: Logger;
  readonly #observer: Promise<types.ActiveSpeakerObserver | undefined>;
  /** Who owns a producer (the room's participants; an adopted producer has no participant in its appData). */
  readonly #ownerOf: (producerId: string) => string | undefined;
  #current: string | undefined;
  #closed = false;

  constructor(router: types.Router, ownerOf: (producerId: string) => string | undefined, log: Logger) {
    super();
    this.#ownerOf = ownerOf;
    this.#log = log.child({ part: 'active-speaker' });
    this.#observer = router.createActiveSpeakerObserver({ interval: INTERVAL_MS }).then(
      (observer) => {
        if (this.#closed) {
          observer.close();
          return undefined;
        }
        observer.on('dominantspeaker', ({ producer }) => this.#onDominant(producer.id));
        return observer;
      },
      (err: unknown) => {
        // The room works without it; only the spotlight loses its cue.
        this.#log.warn({ err }, 'no active speaker observer');
        return undefined;
      },
    );
  }

  /** Participant id of the current dominant speaker, if any yet. */
  get current(): string | undefined {
    return this.#current;
  }

  /** Observes an audio producer (others are ignored). */
  add(producer: types.Producer): void {
    if (producer.kind !== 'audio' || this.#closed) return;
    void this.#observer.then(async (observer) => {
      if (!observer || observer.closed || producer.closed) return;
      await observer.addProducer({ producerId: producer.id }).catch((err: unknown) => {
        if (!producer.closed) this.#log.warn({ err, producerId: producer.id }, 'could not observe an audio producer');
      });
    });
  }

  /** A participant left: if it was the speaker, the next dominant speaker is news again, even if it is the same. */
  forget(participantId: string): void {
    if (this.#current === participantId) this.#current = undefined;
  }

  /** Closes the observer (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    void this.#observer.then((o) => o?.close());
    this.removeAllListeners();
  }

  #onDominant(producerId: string): void {
    const participantId = this.#ownerOf(producerId);
    if (this.#closed || participantId === undefined || participantId === this.#current) return;
    this.#current = participantId;
    this.emit('speaker', { participantId, producerId });
  }
}
