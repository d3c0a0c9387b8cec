import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AuthModule } from '../auth/AuthModule.ts';
import { SignalingError } from '../errors.ts';
import { installErrorHandler, parseInput } from '../http/errors.ts';
import { StreamId } from '../protocol.ts';
import type { StreamsModule } from '../streams/StreamsModule.ts';
import type { IngestConfig } from './config.ts';
import type { IngestSessions, KeyActivity } from './IngestSessions.ts';
import { RTMP_APP } from './RtmpServer.ts';
import type { StreamKeyInfo, StreamKeys } from './StreamKeys.ts';
import { WHIP_PATH } from './WhipEndpoint.ts';

const KeyParams = z.object({ keyId: z.string().regex(/^[0-9a-f]{16}$/, 'a stream key id') });
/** A key for one stream (`streamId`), or the creator's channel key (none). */
const CreateKeyBody = z.strictObject({ streamId: StreamId.nullish() }).default({});

/** A key as the studio lists it: what it publishes to, and what it is publishing now. */
export type StreamKeyView = StreamKeyInfo & { publishing: KeyActivity | null };

/** What the key routes work with. */
export interface KeyRoutesDeps {
  app: FastifyInstance;
  auth: AuthModule;
  keys: StreamKeys;
  streams: StreamsModule;
  sessions: IngestSessions;
  config: IngestConfig;
  log: Logger;
}

/**
 * The studio's stream keys, for the signed-in creator (session cookie or token, as `POST /v1/streams`):
 * `GET /v1/stream-keys` lists the keys in use with what each publishes now, the WHIP path and the RTMP port
 * and application (`rtmp`, null when RTMP is off); `POST /v1/stream-keys`
 * `{ streamId? }` creates a key for one of the creator's streams (not ended) or, without `streamId`, a channel key;
 * `POST /v1/stream-keys/:keyId/rotate` gives a key a new secret (a running ingest goes on; the old secret no longer
 * starts one); `POST /v1/stream-keys/:keyId/revoke` revokes it and ends its ingest (POST, as the dapp's other writes:
 * the node's CORS allows the dapp GET and POST). The token is in the answer of a
 * creation or rotation only, never again.
 */
export async function registerKeyRoutes(deps: KeyRoutesDeps): Promise<void> {
  const { app, auth, keys, streams, sessions, config, log } = deps;
  const view = (k: StreamKeyInfo): StreamKeyView => ({ ...k, publishing: sessions.activityOf(k.keyId) });
  const notFound = () => new SignalingError('STREAM_KEY_NOT_FOUND', 'you have no such stream key');

  await app.register(async (scope: FastifyInstance) => {
    installErrorHandler(scope);

    scope.get('/v1/stream-keys', async (request) => {
      const creator = auth.requireAddress(request);
      // The RTMP port and application; the studio puts the host its signaling URL has in front (null: RTMP is off).
      const rtmp = config.RTMP_PORT > 0 ? { port: config.RTMP_PORT, app: RTMP_APP } : null;
      return { ok: true, whipPath: WHIP_PATH, rtmp, keys: (await keys.list(creator)).map(view) };
    });

    scope.post('/v1/stream-keys', async (request, reply) => {
      const creator = auth.requireAddress(request);
      const { streamId = null } = parseInput(CreateKeyBody, request.body ?? {});
      if (streamId) {
        const stream = await streams.requireCreator(creator, streamId);
        if (stream.status === 'ended') {
          throw new SignalingError('STREAM_NOT_LIVE', 'this stream has ended', { reason: 'ended' });
        }
      }
      const held = await keys.list(creator);
      if (held.length >= config.STREAM_KEYS_PER_CREATOR_MAX) {
        throw new SignalingError(
          'LIMIT_REACHED',
          `a creator holds at most ${config.STREAM_KEYS_PER_CREATOR_MAX} keys`,
          {
            limit: 'stream-keys-per-creator',
            max: String(config.STREAM_KEYS_PER_CREATOR_MAX),
          },
        );
      }
      const issued = await keys.create(creator, streamId);
      log.info({ keyId: issued.key.keyId, creator, streamId }, 'stream key created');
      reply.status(201);
      return { ok: true, whipPath: WHIP_PATH, key: view(issued.key), token: issued.token };
    });

    scope.post('/v1/stream-keys/:keyId/rotate', async (request) => {
      const creator = auth.requireAddress(request);
      const { keyId } = parseInput(KeyParams, request.params);
      const issued = await keys.rotate(creator, keyId);
      if (!issued) throw notFound();
      log.info({ keyId, creator }, 'stream key rotated');
      return { ok: true, whipPath: WHIP_PATH, key: view(issued.key), token: issued.token };
    });

    scope.post('/v1/stream-keys/:keyId/revoke', async (request) => {
      const creator = auth.requireAddress(request);
      const { keyId } = parseInput(KeyParams, request.params);
      if (!(await keys.revoke(creator, keyId))) throw notFound();
      sessions.ofKey(keyId)?.close('revoked');
      log.info({ keyId, creator }, 'stream key revoked');
      return { ok: true, keyId };
    });
  });
}
