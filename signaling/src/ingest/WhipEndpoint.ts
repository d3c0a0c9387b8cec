import type { Sfu } from '@persecond/sfu';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { sameAccount } from '../accounts.ts';
import { SignalingError } from '../errors.ts';
import { HTTP_STATUS, parseInput } from '../http/errors.ts';
import type { StreamRecord } from '../streams/StreamStore.ts';
import type { CreatorPresence, StreamsModule } from '../streams/StreamsModule.ts';
import type { IngestConfig } from './config.ts';
import type { IngestSessions } from './IngestSessions.ts';
import type { StreamKeyInfo, StreamKeys } from './StreamKeys.ts';
import { WhipSession } from './WhipSession.ts';
import { parseWhipOffer, WhipOfferError } from './whipSdp.ts';

/** Where WHIP clients POST their offer; each session's resource is `${WHIP_PATH}/<id>`. */
export const WHIP_PATH = '/whip';

/**
 * CORS of the WHIP routes: any origin (the stream key, not a cookie, is the credential, so a WHIP client on any page
 * may publish), the headers a WHIP client sends, and the response headers it must read.
 */
const WHIP_CORS = {
  origin: '*',
  credentials: false,
  methods: 'POST, DELETE, PATCH, OPTIONS',
  allowedHeaders: 'Authorization, Content-Type, If-Match',
  exposedHeaders: 'Location, ETag, Link, Accept-Post',
  preflightContinue: true,
};
/** Route config: CORS as above, and exempt from the origin guard (no cookie is read). */
const WHIP_ROUTE = { cors: WHIP_CORS, bearerOnly: true };

const ResourceParams = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'a WHIP resource id') });

/** What the WHIP routes work with. */
export interface WhipEndpointDeps {
  app: FastifyInstance;
  keys: StreamKeys;
  streams: StreamsModule;
  sfu: Sfu;
  sessions: IngestSessions;
  config: IngestConfig;
  log: Logger;
}

/** The bearer token of an Authorization header; STREAM_KEY_INVALID when there is none. */
function bearerOf(header: string | undefined): string {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) {
    throw new SignalingError('STREAM_KEY_INVALID', 'send the stream key as "Authorization: Bearer <stream key>"');
  }
  return m[1] as string;
}

/** The stream a key publishes to: its own, or (channel key) the creator's live or newest announced stream. */
export async function streamOf(streams: StreamsModule, key: StreamKeyInfo): Promise<StreamRecord> {
  if (key.streamId === null) {
    const [stream] = await streams.liveableOf(key.creator);
    if (!stream) {
      throw new SignalingError('STREAM_NOT_LIVE', 'no announced stream to go live with: create one in the studio', {
        reason: 'no-stream',
      });
    }
    return stream;
  }
  const stream = await streams.get(key.streamId);
  if (!stream) throw new SignalingError('STREAM_NOT_FOUND', `no stream ${key.streamId}`);
  if (!sameAccount(stream.creator, key.creator)) {
    throw new SignalingError('NOT_CREATOR', 'this key belongs to another creator than the stream');
  }
  if (stream.status === 'ended') {
    throw new SignalingError('STREAM_NOT_LIVE', 'the stream of this key has ended', { reason: 'ended' });
  }
  if (stream.status === 'pending') {
    throw new SignalingError('STREAM_NOT_LIVE', 'the announcement of this stream is not on chain yet', {
      reason: 'not-announced',
    });
  }
  return stream;
}

/** The key of a token; STREAM_KEY_REVOKED or STREAM_KEY_INVALID when it does not work (any ingest). */
export async function checkedKey(keys: StreamKeys, token: string): Promise<StreamKeyInfo> {
  const checked = await keys.check(token);
  if (checked.ok) return checked.key;
  if (checked.reason === 'revoked') {
    throw new SignalingError('STREAM_KEY_REVOKED', 'this stream key was revoked: create a new one in the studio');
  }
  throw new SignalingError('STREAM_KEY_INVALID', 'unknown stream key: copy it again from the studio');
}

/** Answers a refusal as `{ ok: false, code, message }` with its status (401s say which scheme to use). */
function refuse(reply: FastifyReply, error: SignalingError, status = HTTP_STATUS[error.code]): FastifyReply {
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="whip", error="invalid_token"');
  return reply.status(status).type('application/json').send(error.toAck());
}

/**
 * WHIP ingest (RFC 9725) on the signaling HTTP server: `POST /whip` with `Authorization: Bearer <stream key>` and an
 * SDP offer (`application/sdp`, at most WHIP_OFFER_MAX_BYTES) answers 201 with the SDP answer and the session's
 * `Location`; `DELETE` of that resource ends it; `OPTIONS` answers CORS preflights (any origin) with `Accept-Post`;
 * `PATCH` (trickle ICE, ICE restart) is not supported: 405 (mediasoup is ICE-lite and needs no client candidates).
 * Refusals are JSON `{ ok: false, code, message, details? }`: STREAM_KEY_INVALID / STREAM_KEY_REVOKED 401,
 * ALREADY_PUBLISHING 409 (the key, or the stream, already has an ingest, or the studio publishes it), STREAM_NOT_LIVE
 * 409 (ended, not announced, no stream for a channel key), NOT_CREATOR 403, BAD_REQUEST 400 (the offer, with why),
 * 413 (too large), 415 (not application/sdp).
 */
export async function registerWhipRoutes(deps: WhipEndpointDeps): Promise<void> {
  const { app, keys, streams, sfu, sessions, config, log } = deps;

  await app.register(async (scope: FastifyInstance) => {
    scope.addContentTypeParser(
      'application/sdp',
      { parseAs: 'string', bodyLimit: config.WHIP_OFFER_MAX_BYTES },
      (_req, body, done) => done(null, body),
    );
    scope.setErrorHandler((err: FastifyError | SignalingError | WhipOfferError, request, reply) => {
      if (err instanceof SignalingError) return refuse(reply, err);
      if (err instanceof WhipOfferError) return refuse(reply, new SignalingError('BAD_REQUEST', err.message));
      if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
        // 413 (too large) and 415 (not application/sdp) keep their status.
        return refuse(reply, new SignalingError('BAD_REQUEST', err.message), err.statusCode);
      }
      request.log.error({ err }, 'whip request failed');
      return refuse(reply, new SignalingError('INTERNAL', 'something went wrong on our side'));
    });

    const options = async (_request: unknown, reply: FastifyReply, allow: string) =>
      reply.status(204).header('allow', allow).header('accept-post', 'application/sdp').send();
    scope.options(WHIP_PATH, { config: WHIP_ROUTE }, (req, reply) => options(req, reply, 'POST, OPTIONS'));
    scope.options(`${WHIP_PATH}/:id`, { config: WHIP_ROUTE }, (req, reply) => options(req, reply, 'DELETE, OPTIONS'));

    scope.post(WHIP_PATH, { config: WHIP_ROUTE }, async (request, reply) => {
      const token = bearerOf(request.headers.authorization);
      const key = await checkedKey(keys, token);
      const { streamId } = await streamOf(streams, key);
      const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/sdp' || typeof request.body !== 'string') {
        const error = new SignalingError(
          'BAD_REQUEST',
          'the body must be an SDP offer (Content-Type: application/sdp)',
        );
        return refuse(reply, error, 415);
      }
      sessions.reserve(key.keyId, streamId);
      let presence: CreatorPresence | undefined;
      let session: WhipSession;
      try {
        const existing = sfu.getRoom(streamId);
        if (existing && !existing.closed && existing.producers.length > 0) {
          throw new SignalingError('ALREADY_PUBLISHING', 'this stream is being published from the studio', {
            reason: 'studio',
          });
        }
        const offer = parseWhipOffer(request.body);
        presence = await streams.goLiveFor(key.creator, streamId);
        const room = sfu.getRoom(streamId);
        if (!room || room.closed) throw new SignalingError('STREAM_NOT_LIVE', 'the stream ended while going live');
        session = await WhipSession.start({
          room,
          offer,
          keyId: key.keyId,
          creator: key.creator,
          presence,
          connectTimeoutMs: config.WHIP_CONNECT_TIMEOUT_SECONDS * 1000,
          log,
          onEnded: (s) => sessions.remove(s),
        });
      } catch (err) {
        sessions.release(key.keyId, streamId);
        // A session that failed to start has left already (idempotent); a room that closed meanwhile had none.
        presence?.leave();
        if (err instanceof WhipOfferError || err instanceof SignalingError) throw err;
        const name = (err as Error).name;
        if (name === 'SfuBadRequestError') throw new SignalingError('BAD_REQUEST', (err as Error).message);
        if (name === 'CapacityFullError') throw new SignalingError('CAPACITY_FULL', (err as Error).message);
        throw err;
      }
      sessions.add(session);
      keys
        .markUsed(key.keyId)
        .catch((err: unknown) => log.warn({ err, keyId: key.keyId }, 'could not mark a key used'));
      return reply
        .status(201)
        .header('content-type', 'application/sdp')
        .header('location', `${WHIP_PATH}/${session.id}`)
        .header('etag', `"${session.id}"`)
        .send(session.answer);
    });

    scope.delete(`${WHIP_PATH}/:id`, { config: WHIP_ROUTE }, async (request, reply) => {
      const { id } = parseInput(ResourceParams, request.params);
      const session = sessions.get(id);
      if (!session) throw new SignalingError('STREAM_NOT_FOUND', 'no such WHIP session (it may have ended already)');
      session.close('deleted');
      return reply.status(200).send();
    });

    scope.patch(`${WHIP_PATH}/:id`, { config: WHIP_ROUTE }, async (_request, reply) =>
      reply
        .status(405)
        .header('allow', 'DELETE, OPTIONS')
        .type('application/json')
        .send(new SignalingError('BAD_REQUEST', 'trickle ICE and ICE restarts are not supported').toAck()),
    );
  });
}
