import { readFile } from 'node:fs/promises';
import type { Sfu } from '@persecond/sfu';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SignalingError } from '../errors.ts';
import { installErrorHandler, parseInput } from '../http/errors.ts';
import { StreamId } from '../protocol.ts';
import type { StreamRecord } from './StreamStore.ts';

/** What the thumbnail route works with. */
export interface ThumbnailRouteDeps {
  app: FastifyInstance;
  sfu: Pick<Sfu, 'getRoom' | 'thumbnail'>;
  /** The stored stream. */
  record: (streamId: string) => Promise<StreamRecord | undefined>;
}

const Params = z.object({ id: StreamId });

/** Browsers may keep a picture this long; the SFU takes a new one every THUMBNAIL_INTERVAL_SECONDS (10 by default). */
const CACHE_CONTROL = 'public, max-age=5';

/**
 * `GET /v1/streams/:id/thumbnail.jpg`: the newest picture of a stream live on this node (issue 17), free and without
 * a session (the stream itself stays paid). STREAM_NOT_FOUND (404) for no public stream, STREAM_NOT_LIVE (409) when
 * it is not live or is served by another node, THUMBNAIL_NOT_READY (404) until its first picture (or with thumbnails
 * off).
 */
export async function registerThumbnailRoute(deps: ThumbnailRouteDeps): Promise<void> {
  await deps.app.register(async (scope: FastifyInstance) => {
    installErrorHandler(scope);
    scope.get('/v1/streams/:id/thumbnail.jpg', async (request, reply) => {
      const { id } = parseInput(Params, request.params);
      const stream = await deps.record(id);
      if (!stream || stream.status === 'pending') throw new SignalingError('STREAM_NOT_FOUND', `no stream ${id}`);
      if (stream.status !== 'live') {
        throw new SignalingError('STREAM_NOT_LIVE', `stream ${id} is not live`, { status: stream.status });
      }
      const room = deps.sfu.getRoom(id);
      if (!room || room.closed) {
        throw new SignalingError('STREAM_NOT_LIVE', `stream ${id} is served by another node`, {
          node: stream.node ?? '',
        });
      }
      const file = deps.sfu.thumbnail(id);
      // The SFU replaces the picture by a rename: a read gets a whole one, or none once the room closed.
      const body = file ? await readFile(file).catch(notFoundAsUndefined) : undefined;
      if (!body) throw new SignalingError('THUMBNAIL_NOT_READY', `stream ${id} has no thumbnail yet`);
      return reply.header('content-type', 'image/jpeg').header('cache-control', CACHE_CONTROL).send(body);
    });
  });
}

function notFoundAsUndefined(err: NodeJS.ErrnoException): undefined {
  if (err.code === 'ENOENT') return undefined;
  throw err;
}
