import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AuthModule } from '../auth/AuthModule.ts';
import { installErrorHandler, parseInput } from '../http/errors.ts';
import { Address, type ReplayInfo, StreamId } from '../protocol.ts';

const Params = z.object({ id: StreamId });
const ListQuery = z.object({ creator: Address.optional() });

/** What the routes ask of the replays module. */
export interface ReplayRouteSource {
  info(streamId: string): Promise<ReplayInfo>;
  list(creator?: string): Promise<ReplayInfo[]>;
  remove(creator: string, streamId: string): Promise<void>;
}

/**
 * `GET /v1/streams/:id/replay` (anyone: status, duration, price per second, created), `GET /v1/replays[?creator=]`
 * (replays with a recording here, newest first) and `DELETE /v1/streams/:id/replay` (the signed-in creator:
 * NOT_CREATOR otherwise). A stream without a replay to show is STREAM_NOT_FOUND (404) with `details.reason`
 * `no-replay` (not recorded), `deleted`, or `recording` (for a delete while the stream is still recorded).
 */
export async function registerReplayRoutes(
  app: FastifyInstance,
  auth: AuthModule,
  replays: ReplayRouteSource,
): Promise<void> {
  await app.register(async (scope: FastifyInstance) => {
    installErrorHandler(scope);
    scope.get('/v1/streams/:id/replay', async (request) => {
      const { id } = parseInput(Params, request.params);
      return { ok: true, replay: await replays.info(id) };
    });
    scope.get('/v1/replays', async (request) => {
      const { creator } = parseInput(ListQuery, request.query);
      return { ok: true, replays: await replays.list(creator) };
    });
    scope.delete('/v1/streams/:id/replay', async (request) => {
      const { id } = parseInput(Params, request.params);
      await replays.remove(auth.requireAddress(request), id);
      return { ok: true, streamId: id };
    });
  });
}
