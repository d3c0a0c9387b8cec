import { randomBytes } from 'node:crypto';
import type { Room } from '@persecond/sfu';
import type { Logger } from 'pino';
import type { CreatorPresence } from '../streams/StreamsModule.ts';

/** Why an ingest session (WHIP or RTMP) ended. */
export type IngestEndReason =
  /** The client ended it (WHIP DELETE, OBS's "Stop streaming"; RTMP deleteStream). */
  | 'deleted'
  /** The connection went away (ICE consent or DTLS lost, the RTMP socket closed). */
  | 'connection-lost'
  /** ICE and DTLS did not connect in time after the POST. */
  | 'connect-timeout'
  /** The creator revoked the key it publishes with. */
  | 'revoked'
  /** The stream ended or its room closed (stream:end, the grace ran out, the node shut down). */
  | 'stream-ended'
  /** Setting it up failed, or its media path broke. */
  | 'failed';

/** What every ingest session is created from. */
export interface IngestSessionInit<S extends IngestSession> {
  room: Room;
  keyId: string;
  creator: string;
  /** The stream held live for the creator: left when the session ends (the creator-away path). */
  presence: CreatorPresence;
  log: Logger;
  /** Called once when the session has ended (the registry forgets it). */
  onEnded: (session: S, reason: IngestEndReason) => void;
}

/**
 * One encoder publishing into a stream's room with a stream key, whatever the protocol: its identity, the stream it
 * holds live for the creator, and an idempotent `close(reason)` that frees its media (`release`) and, unless the
 * stream itself ended, runs the creator-away path. Subclasses set their media up in `setUp`.
 */
export abstract class IngestSession {
  /** The session's id (for WHIP the last part of its resource URL: unguessable, the capability to DELETE it). */
  readonly id = randomBytes(16).toString('base64url');
  readonly startedAt = new Date();
  readonly streamId: string;
  readonly keyId: string;
  readonly creator: string;
  readonly #init: IngestSessionInit<never>;
  #ended: IngestEndReason | undefined;

  protected constructor(init: IngestSessionInit<never>) {
    this.#init = init;
    this.streamId = init.room.streamId;
    this.keyId = init.keyId;
    this.creator = init.creator;
  }

  /** Media can flow (WHIP: ICE and DTLS up; RTMP: the encoder pushes). */
  abstract get connected(): boolean;

  /** Why it ended; undefined while it runs. */
  get endReason(): IngestEndReason | undefined {
    return this.#ended;
  }

  /** Ends the session (idempotent): its media closed, the creator away unless the stream ended. */
  close(reason: IngestEndReason): void {
    if (this.#ended) return;
    this.#ended = reason;
    this.release(reason);
    if (reason !== 'stream-ended') this.#init.presence.leave();
    this.#init.log.info(
      { streamId: this.streamId, keyId: this.keyId, session: this.id, reason, ...this.describe() },
      `${this.protocol} session ended`,
    );
    (this.#init.onEnded as (s: IngestSession, r: IngestEndReason) => void)(this, reason);
  }

  /** Sets the session up; on a failure ends it (`failed`) and throws. */
  protected static async begin<S extends IngestSession>(session: S): Promise<S> {
    try {
      await session.setUp();
      return session;
    } catch (err) {
      session.close('failed');
      throw err;
    }
  }

  /** `whip` or `rtmp`, for logs. */
  protected abstract readonly protocol: string;
  /** Creates the session's transports and producers in the room. */
  protected abstract setUp(): Promise<void>;
  /** Closes what the session holds in the room (called once, from `close`). */
  protected abstract release(reason: IngestEndReason): void;
  /** Fields added to the session's log lines. */
  protected describe(): Record<string, unknown> {
    return {};
  }
}
