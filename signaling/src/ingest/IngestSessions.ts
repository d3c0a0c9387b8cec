import { SignalingError } from '../errors.ts';
import type { IngestEndReason, IngestSession } from './IngestSession.ts';

/** What a key is doing right now, as the studio shows it. */
export interface KeyActivity {
  streamId: string;
  since: string;
  /** ICE and DTLS are up: media can flow. */
  connected: boolean;
}

/**
 * The ingest sessions (WHIP and RTMP) of this node: by resource id, and which key and stream each holds. A key publishes once at a time
 * and a stream takes one ingest at a time; a POST reserves both before its first await, so two racing POSTs with one
 * key cannot both start.
 */
export class IngestSessions {
  readonly #byId = new Map<string, IngestSession>();
  /** Keys and streams taken, by a running session or a POST still starting one (undefined). */
  readonly #keys = new Map<string, IngestSession | undefined>();
  readonly #streams = new Map<string, IngestSession | undefined>();

  /** Takes `keyId` and `streamId` for a starting session; ALREADY_PUBLISHING when either is taken. */
  reserve(keyId: string, streamId: string): void {
    if (this.#keys.has(keyId)) {
      throw new SignalingError('ALREADY_PUBLISHING', 'this stream key is already publishing', { reason: 'key' });
    }
    if (this.#streams.has(streamId)) {
      throw new SignalingError('ALREADY_PUBLISHING', 'another stream key is already publishing this stream', {
        reason: 'stream',
      });
    }
    this.#keys.set(keyId, undefined);
    this.#streams.set(streamId, undefined);
  }

  /** Gives back what `reserve` took (the session did not start). */
  release(keyId: string, streamId: string): void {
    if (this.#keys.get(keyId) === undefined) this.#keys.delete(keyId);
    if (this.#streams.get(streamId) === undefined) this.#streams.delete(streamId);
  }

  /** Records a started session in the places its POST reserved. */
  add(session: IngestSession): void {
    this.#byId.set(session.id, session);
    this.#keys.set(session.keyId, session);
    this.#streams.set(session.streamId, session);
  }

  /** Forgets an ended session. */
  remove(session: IngestSession): void {
    if (this.#byId.get(session.id) === session) this.#byId.delete(session.id);
    if (this.#keys.get(session.keyId) === session) this.#keys.delete(session.keyId);
    if (this.#streams.get(session.streamId) === session) this.#streams.delete(session.streamId);
  }

  get(id: string): IngestSession | undefined {
    return this.#byId.get(id);
  }

  /** The running session of a key, if any. */
  ofKey(keyId: string): IngestSession | undefined {
    return this.#keys.get(keyId);
  }

  /** What the key is publishing, for the studio; null when idle. */
  activityOf(keyId: string): KeyActivity | null {
    const s = this.#keys.get(keyId);
    return s ? { streamId: s.streamId, since: s.startedAt.toISOString(), connected: s.connected } : null;
  }

  /** How many sessions run. */
  get size(): number {
    return this.#byId.size;
  }

  /** Ends every session (the node is closing). */
  closeAll(reason: IngestEndReason): void {
    for (const s of [...this.#byId.values()]) s.close(reason);
  }
}
