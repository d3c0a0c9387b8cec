import type { types as ms } from 'mediasoup';
import { type IngestEndReason, IngestSession, type IngestSessionInit } from './IngestSession.ts';
import { buildWhipAnswer, negotiate, type WhipOffer } from './whipSdp.ts';

/** What a session is created from. */
export interface WhipSessionInit extends IngestSessionInit<WhipSession> {
  offer: WhipOffer;
  connectTimeoutMs: number;
}

/**
 * One WHIP publisher: a send transport in the stream's room (the same `createPublisherTransport` / `connectTransport`
 * / `produce` steps as the browser studio's), a producer per offered section, and the stream held live for the
 * creator. It ends on DELETE, when the connection is lost or never comes up, when its key is revoked, or with the
 * stream; ending closes its producers and transport and, unless the stream itself ended, runs the creator-away path.
 */
export class WhipSession extends IngestSession {
  protected readonly protocol = 'whip';
  /** The SDP answer (set once started). */
  answer = '';
  #transport: ms.WebRtcTransport | undefined;
  #transportId: string | undefined;
  readonly #producerIds: string[] = [];
  #timer: NodeJS.Timeout | undefined;

  private constructor(private readonly init: WhipSessionInit) {
    super(init);
  }

  /**
   * Negotiates the offer against the room's router, creates the transport and the producers, and builds the answer;
   * on a failure ends the session (reason `failed`) and throws.
   */
  static start(init: WhipSessionInit): Promise<WhipSession> {
    return IngestSession.begin(new WhipSession(init));
  }

  /** Ids of its producers in the room. */
  get producerIds(): readonly string[] {
    return this.#producerIds;
  }

  protected release(_reason: IngestEndReason): void {
    clearTimeout(this.#timer);
    const { room } = this.init;
    if (room.closed) return;
    for (const id of this.#producerIds) room.closeProducer(id);
    if (this.#transportId) room.closePublisherTransport(this.#transportId);
  }

  protected async setUp(): Promise<void> {
    const { room, offer, log } = this.init;
    const sections = negotiate(offer, room.rtpCapabilities);
    const params = await room.createPublisherTransport();
    this.#transportId = params.id;
    const transport = room.publisherTransport(params.id);
    if (!transport) throw new Error('the publisher transport closed at once');
    this.#watch(transport);
    await room.connectTransport(params.id, offer.dtlsParameters);
    for (const s of sections) {
      this.#producerIds.push(await room.produce(params.id, s.kind, s.rtpParameters));
    }
    this.answer = buildWhipAnswer(offer, sections, params);
    log.info(
      { streamId: this.streamId, keyId: this.keyId, session: this.id, kinds: sections.map((s) => s.kind) },
      'whip session started',
    );
  }

  #watch(transport: ms.WebRtcTransport): void {
    this.#transport = transport;
    this.#timer = setTimeout(() => this.close('connect-timeout'), this.init.connectTimeoutMs);
    transport.on('icestatechange', (state) => {
      if (state === 'disconnected' || state === 'closed') this.close('connection-lost');
    });
    transport.on('dtlsstatechange', (state) => {
      if (state === 'connected') clearTimeout(this.#timer);
      if (state === 'failed' || state === 'closed') this.close('connection-lost');
    });
    transport.observer.once('close', () => this.close(this.init.room.closed ? 'stream-ended' : 'connection-lost'));
  }

  /** Whether ICE and DTLS are up (media can flow). */
  get connected(): boolean {
    return this.#transport?.dtlsState === 'connected';
  }
}
