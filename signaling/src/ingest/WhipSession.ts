import { randomBytes } from 'node:crypto';
import type { Room } from '@persecond/sfu';
import type { types as ms } from 'mediasoup';
import type { Logger } from 'pino';
import type { CreatorPresence } from '../streams/StreamsModule.ts';
import { buildWhipAnswer, negotiate, type WhipOffer } from './whipSdp.ts';

/** Why a WHIP session ended. */
export type WhipEndReason =
  /** The client sent DELETE (OBS's "Stop streaming"). */
  | 'deleted'
  /** ICE lost the client (consent expired) or DTLS failed or was closed by the client. */
  | 'connection-lost'
  /** ICE and DTLS did not connect in time after the POST. */
  | 'connect-timeout'
  /** The creator revoked the key it publishes with. */
  | 'revoked'
  /** The stream ended or its room closed (stream:end, the grace ran out, the node shut down). */
  | 'stream-ended'
  /** Setting it up failed. */
  | 'failed';

/** What a session is created from. */
export interface WhipSessionInit {
  room: Room;
  offer: WhipOffer;
  keyId: string;
  creator: string;
  /** The stream held live for the creator: left when the session ends (the creator-away path). */
  presence: CreatorPresence;
  connectTimeoutMs: number;
  log: Logger;
  /** Called once when the session has ended (the endpoint forgets it). */
  onEnded: (session: WhipSession, reason: WhipEndReason) => void;
}

/**
 * One WHIP publisher: a send transport in the stream's room (the same `createPublisherTransport` / `connectTransport`
 * / `produce` steps as the browser studio's), a producer per offered section, and the stream held live for the
 * creator. It ends on DELETE, when the connection is lost or never comes up, when its key is revoked, or with the
 * stream; ending closes its producers and transport and, unless the stream itself ended, runs the creator-away path.
 */
export class WhipSession {
  /** The resource's id: the last part of its URL (unguessable, the capability to DELETE it). */
  readonly id = randomBytes(16).toString('base64url');
  readonly startedAt = new Date();
  readonly streamId: string;
  readonly keyId: string;
  readonly creator: string;
  /** The SDP answer (set once started). */
  answer = '';
  #transport: ms.WebRtcTransport | undefined;
  #transportId: string | undefined;
  readonly #producerIds: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #ended: WhipEndReason | undefined;

  private constructor(private readonly init: WhipSessionInit) {
    this.streamId = init.room.streamId;
    this.keyId = init.keyId;
    this.creator = init.creator;
  }

  /**
   * Negotiates the offer against the room's router, creates the transport and the producers, and builds the answer;
   * on a failure ends the session (reason `failed`) and throws.
   */
  static async start(init: WhipSessionInit): Promise<WhipSession> {
    const session = new WhipSession(init);
    try {
      await session.#setUp();
      return session;
    } catch (err) {
      session.close('failed');
      throw err;
    }
  }

  /** Why it ended; undefined while it runs. */
  get endReason(): WhipEndReason | undefined {
    return this.#ended;
  }

  /** Ids of its producers in the room. */
  get producerIds(): readonly string[] {
    return this.#producerIds;
  }

  /** Ends the session (idempotent): producers and transport closed, the creator away unless the stream ended. */
  close(reason: WhipEndReason): void {
    if (this.#ended) return;
    this.#ended = reason;
    clearTimeout(this.#timer);
    const { room } = this.init;
    if (!room.closed) {
      for (const id of this.#producerIds) room.closeProducer(id);
      if (this.#transportId) room.closePublisherTransport(this.#transportId);
    }
    if (reason !== 'stream-ended') this.init.presence.leave();
    this.init.log.info({ streamId: this.streamId, keyId: this.keyId, session: this.id, reason }, 'whip session ended');
    this.init.onEnded(this, reason);
  }

  async #setUp(): Promise<void> {
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
