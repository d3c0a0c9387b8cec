import type { Sfu } from '@persecond/sfu';
import { protocolAddress, sameAccount } from '../accounts.ts';
import { getAuthModule } from '../auth/AuthModule.ts';
import { SignalingError } from '../errors.ts';
import { ledgerModuleOf } from '../ledger/ledgerModule.ts';
import type { ReplayInfo } from '../protocol.ts';
import type { SignalingContext, SignalingModule, SignalingModuleFactory } from '../SignalingContext.ts';
import { getStreamsModule } from '../streams/StreamsModule.ts';
import type { PayableStream } from '../viewers/admission.ts';
import type { ViewersModule } from '../viewers/ViewersModule.ts';
import { ReplayStore, type StoredReplay } from './ReplayStore.ts';
import type { ReplayCatalog } from './replayAdmission.ts';
import { registerReplayRoutes } from './replayRoutes.ts';

/** The replays module as other modules see it (`ctx.modules.get('replays')`). */
export interface ReplaysModule extends SignalingModule, ReplayCatalog {
  readonly name: 'replays';
  readonly store: ReplayStore;
  /** A stream's replay as the API shows it; STREAM_NOT_FOUND `{reason}` when there is none to show. */
  info(streamId: string): Promise<ReplayInfo>;
  /** Replays with a recording on this node, newest first: all, or one creator's. */
  list(creator?: string): Promise<ReplayInfo[]>;
  /**
   * Deletes a replay for its creator (NOT_CREATOR otherwise): refused from then on, its sessions here ended
   * (`viewer:released {reason: 'replay-deleted'}`), its files removed. Idempotent.
   */
  remove(creator: string, streamId: string): Promise<void>;
}

/** Refusals of a replay that cannot be shown or watched, with the reason clients branch on. */
function noReplay(streamId: string, reason: 'no-replay' | 'deleted' | 'recording'): SignalingError {
  const why = {
    'no-replay': 'has no replay (not recorded, or nothing was)',
    deleted: 'has no replay any more: its creator deleted it',
    recording: 'is still being recorded: its replay is ready once the stream ends',
  }[reason];
  return new SignalingError('STREAM_NOT_FOUND', `stream ${streamId} ${why}`, { reason });
}

/**
 * Paid replays of recorded streams (issue 15): each stream taken live here gets its replay terms stored (the price
 * the creator chose at `stream:goLive`, else the live price; the stream's payment terms); `GET /v1/streams/:id/replay`
 * and `GET /v1/replays` show replays with a recording on this node, `DELETE /v1/streams/:id/replay` deletes one for
 * its creator. Sessions join with `replay:join` (the viewers module, through `payable`). Needs the auth, streams and
 * ledger modules before it; ends replay sessions through the viewers module when there is one.
 */
export const replaysModule: SignalingModuleFactory = async (ctx) => createReplaysModule(ctx);

async function createReplaysModule(ctx: SignalingContext): Promise<ReplaysModule> {
  const log = ctx.log.child({ part: 'replays' });
  const streams = getStreamsModule(ctx);
  const store = new ReplayStore(ledgerModuleOf(ctx.modules).ledger);
  const off = streams.onGoLive(async ({ stream, replayPricePerSecond }) => {
    await store.save(
      {
        streamId: stream.streamId,
        creator: stream.creator,
        title: stream.title,
        asset: stream.asset,
        pricePerSecond: replayPricePerSecond ?? stream.pricePerSecond,
        livePricePerSecond: stream.pricePerSecond,
        terms: stream.terms,
      },
      replayPricePerSecond !== undefined,
    );
  });

  const info = async (streamId: string): Promise<ReplayInfo> => {
    const row = await store.get(streamId);
    if (!row) throw noReplay(streamId, 'no-replay');
    return infoOf(ctx.sfu, row);
  };

  const mod: ReplaysModule = {
    name: 'replays',
    store,
    info,
    async list(creator) {
      const rows = await store.list(creator);
      const shown = await Promise.all(rows.map((r) => infoOf(ctx.sfu, r).catch(() => undefined)));
      return shown.filter((r) => r !== undefined);
    },
    async payable(streamId): Promise<PayableStream> {
      const row = await store.get(streamId);
      if (!row) throw noReplay(streamId, 'no-replay');
      const shown = await infoOf(ctx.sfu, row);
      if (shown.status !== 'ready') throw noReplay(streamId, 'recording');
      return {
        streamId,
        creator: row.creator,
        asset: row.asset,
        pricePerSecond: row.pricePerSecond,
        terms: row.terms,
      };
    },
    async remove(creator, streamId) {
      const row = await store.get(streamId);
      if (!row) throw noReplay(streamId, 'no-replay');
      if (!sameAccount(row.creator, creator)) {
        throw new SignalingError('NOT_CREATOR', 'only the creator of this stream can do that');
      }
      // Not while the stream is recorded: the replay exists once it ended.
      if (ctx.sfu.recorder(streamId)) throw noReplay(streamId, 'recording');
      // Refused from now on (joins and the listing), then its sessions here end, then its files go.
      await store.markDeleted(streamId);
      const viewers = ctx.modules.get('viewers') as ViewersModule | undefined;
      const ended = (await viewers?.removeReplays(streamId)) ?? 0;
      if (!(await ctx.sfu.recordings.remove(streamId))) throw noReplay(streamId, 'recording');
      log.info({ streamId, ended }, 'replay deleted');
    },
    keepWatched: (rows) => store.keepWatched(rows),
    watchedOf: (sessionId) => store.watchedOf(sessionId),
    close: async () => {
      off();
    },
  };
  await registerReplayRoutes(ctx.app, getAuthModule(ctx), mod);
  return mod;
}

/** A stored replay as the API shows it, from its recording on this node; STREAM_NOT_FOUND when it has none. */
async function infoOf(sfu: Sfu, row: StoredReplay): Promise<ReplayInfo> {
  if (row.deletedAt) throw noReplay(row.streamId, 'deleted');
  const recording = await sfu.recordings.read(row.streamId);
  if (!recording || recording.segments === 0) throw noReplay(row.streamId, 'no-replay');
  // Ended as a VOD and no recorder on it any more (a room opened again goes on recording into it).
  const ready = recording.endedAt !== null && !sfu.recorder(row.streamId);
  return {
    streamId: row.streamId,
    title: row.title,
    creator: protocolAddress(row.creator) ?? row.creator,
    asset: row.asset,
    status: ready ? 'ready' : 'recording',
    durationSeconds: recording.durationSeconds,
    pricePerSecond: row.pricePerSecond.toString(),
    livePricePerSecond: row.livePricePerSecond.toString(),
    createdAt: row.createdAt.toISOString(),
    ...(recording.endedAt ? { endedAt: recording.endedAt } : {}),
  };
}
