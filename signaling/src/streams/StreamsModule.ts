import { randomUUID } from 'node:crypto';
import {
  type ChainClient,
  MAX_PRICE_PER_SECOND,
  SettlementWatcher,
  type StreamPaymentTerms,
} from '@persecond/contracts-client';
import { sameAccount } from '../accounts.ts';
import { getAuthModule } from '../auth/AuthModule.ts';
import { dependencyOf } from '../dependencies/dependencyModule.ts';
import { guardRedis, isRedisUnreachable } from '../dependencies/redisDependency.ts';
import { SignalingError } from '../errors.ts';
import type { NodePaymentWindows } from '../payments/paymentRules.ts';
import type { SignalingSocket } from '../RequestRouter.ts';
import type { SignalingContext, SignalingModule, SignalingModuleFactory } from '../SignalingContext.ts';
import { loadViewersConfig, type ViewersConfig } from '../viewers/config.ts';
import { recordAnnouncements } from './announcements.ts';
import { loadStreamsConfig, type StreamsConfig } from './config.ts';
import { CreationLimit } from './creationLimit.ts';
import { MemoryStreamStore } from './MemoryStreamStore.ts';
import { RedisStreamStore } from './RedisStreamStore.ts';
import { localHandoff, type RoomChange, type RoomHandoff, redisHandoff } from './RoomHandoff.ts';
import type { StoredStream, StreamRecord, StreamStore } from './StreamStore.ts';
import { registerStreamRoutes } from './streamRoutes.ts';
import { registerThumbnailRoute } from './thumbnailRoute.ts';

export type { StreamDetails } from './streamRoutes.ts';

/**
 * What happens to a live stream hosted on this node: its creator's connection went away (media stops; the stream
 * ends after `graceSeconds` unless the creator goes live again), or it ended (by its creator, after the grace, or on
 * another node).
 */
export type StreamLifecycleEvent =
  | { type: 'creator-away'; streamId: string; graceSeconds: number }
  | { type: 'ended'; streamId: string };

/** Reacts to a lifecycle event; the stream's end waits for it (e.g. to close viewer sessions first). */
export type StreamLifecycleListener = (event: StreamLifecycleEvent) => void | Promise<void>;

/** A stream taken live on this node (`stream:goLive` or an ingest), with the creator's replay choice if any. */
export interface GoLiveEvent {
  stream: StreamRecord;
  /** The replay's price per second the creator chose at `stream:goLive` (absent: none chosen). */
  replayPricePerSecond?: bigint;
}

/** Reacts to a stream going live here; awaited before the go-live is answered, a failure only logged. */
export type GoLiveListener = (event: GoLiveEvent) => Promise<void>;

/** The streams module as other modules see it (`ctx.modules.get('streams')`). */
export interface StreamsModule extends SignalingModule {
  readonly name: 'streams';
  /** Id of this node, recorded on the streams whose room it hosts. */
  readonly nodeId: string;
  /** A stream in any state, from the (possibly shared) directory, with its payment terms (defaults filled in). */
  get(streamId: string): Promise<StreamRecord | undefined>;
  /** Adds `delta` to a stream's viewer count (shared by every node); returns the new count. */
  adjustViewers(streamId: string, delta: number): Promise<number>;
  /** Subscribes to the lifecycle of the streams this node hosts; returns the unsubscribe function. */
  onLifecycle(listener: StreamLifecycleListener): () => void;
  /** Subscribes to streams going live on this node (e.g. to keep their replay terms); returns the unsubscribe. */
  onGoLive(listener: GoLiveListener): () => void;
  /**
   * Takes an announced stream of `creator` live without a socket, for an ingest (WHIP, RTMP): as `stream:goLive`, the
   * same refusals. The answer's `leave()` is the ingest stopping: the creator-away path (grace, then the end) unless
   * the stream was taken live again since.
   */
  goLiveFor(creator: string, streamId: string): Promise<CreatorPresence>;
  /**
   * A stream of `creator`, in any state: STREAM_NOT_FOUND when there is none or it is another creator's and not yet
   * announced (it exists only for its creator until then), NOT_CREATOR when it is another creator's.
   */
  requireCreator(creator: string, streamId: string): Promise<StreamRecord>;
  /** The creator's streams that can go live: live ones first, then announced ones, newest first. */
  liveableOf(creator: string): Promise<StreamRecord[]>;
}

/** An ingest holding a stream live for its creator (`goLiveFor`). */
export interface CreatorPresence {
  /** The ingest stopped publishing; safe to call twice. */
  leave(): void;
}

/** The Socket.IO room of a stream's creator and viewers; `stream:ended` is emitted to it. */
export function streamRoom(streamId: string): string {
  return `stream:${streamId}`;
}

/** The streams module of a context; throws if it was not created before the caller. */
export function getStreamsModule(ctx: SignalingContext): StreamsModule {
  const mod = ctx.modules.get('streams') as Partial<StreamsModule> | undefined;
  if (!mod || typeof mod.adjustViewers !== 'function') {
    throw new Error('the streams module must be created before this module (see SIGNALING_MODULES)');
  }
  return mod as StreamsModule;
}

/**
 * Stream lifecycle: `POST /v1/streams` pins the metadata and returns the announcement call for the creator's wallet;
 * the stream turns public when the announcement is seen on chain (SettlementWatcher, in-block); `GET /v1/streams`
 * lists public streams, `GET /v1/streams/:id` shows one, `GET /v1/streams/:id/thumbnail.jpg` its live thumbnail
 * (free); sockets `stream:goLive` / `stream:end` open and close the SFU room. The directory lives in Redis when
 * REDIS_URL is set (shared by every node), in memory otherwise.
 * Creations are rate-limited per wallet, prices and settle intervals bounded; each stream carries the creator's
 * payment terms (`terms`, the node's defaults when none were chosen). Needs the auth module before it. Pass `config`
 * to override the environment.
 */
export function streamsModule(config?: StreamsConfig, options: StreamsOptions = {}): SignalingModuleFactory {
  return async (ctx) => createStreamsModule(ctx, config ?? loadStreamsConfig(), options);
}

/** Options of the streams module beyond its environment. */
export interface StreamsOptions {
  /**
   * The viewers config this node's sessions run under (default: the environment's, parsed once): its
   * SETTLE_EVERY_SECONDS is the settle interval of streams whose creator chose none, its windows make a stream's
   * `rules` and `exposure` and `GET /v1/payment-terms`. Pass the one the viewers module gets, so both agree.
   */
  viewersConfig?: StreamsViewersSettings;
}

/** The part of the viewers config the streams module reads. */
export type StreamsViewersSettings = NodePaymentWindows & Pick<ViewersConfig, 'SETTLE_EVERY_SECONDS'>;

async function createStreamsModule(
  ctx: SignalingContext,
  config: StreamsConfig,
  options: StreamsOptions,
): Promise<StreamsModule> {
  const log = ctx.log.child({ part: 'streams' });
  const viewersConfig = options.viewersConfig ?? loadViewersConfig();
  const defaultTerms: StreamPaymentTerms = { settleEverySeconds: viewersConfig.SETTLE_EVERY_SECONDS, payAhead: false };
  const withTerms = (s: StoredStream): StreamRecord => ({ ...s, terms: s.terms ?? defaultTerms });
  const auth = getAuthModule(ctx);
  const nodeId = randomUUID();
  const cleanups: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        log.warn({ err }, 'error while closing');
      }
    }
  };

  try {
    const graceMs = config.STREAM_CREATOR_GRACE_SECONDS * 1000;
    /** Streams whose SFU room this node hosts. */
    const hosted = new Set<string>();
    /**
     * What took each hosted stream live (the creator's socket, or an ingest's presence), and the grace timers of the
     * streams whose creator is away.
     */
    const creators = new Map<string, object>();
    const awayTimers = new Map<string, NodeJS.Timeout>();
    const hookedSockets = new WeakSet<SignalingSocket>();
    const listeners = new Set<StreamLifecycleListener>();
    const goLiveListeners = new Set<GoLiveListener>();
    /** Tells the go-live listeners (a replay's terms are no reason to refuse going live: failures are logged). */
    const wentLive = async (streamId: string, replayPricePerSecond?: bigint): Promise<void> => {
      const stream = await recordOf(streamId);
      if (!stream) return;
      for (const listener of [...goLiveListeners]) {
        await listener({ stream, ...(replayPricePerSecond === undefined ? {} : { replayPricePerSecond }) }).catch(
          (err: unknown) => log.warn({ err, streamId }, 'a go-live listener failed'),
        );
      }
    };
    const notify = async (event: StreamLifecycleEvent): Promise<void> => {
      for (const listener of [...listeners]) {
        try {
          await listener(event);
        } catch (err) {
          log.warn({ err, ...event }, 'a stream lifecycle listener failed');
        }
      }
    };
    const releaseRoom = async (streamId: string): Promise<void> => {
      clearTimeout(awayTimers.get(streamId));
      awayTimers.delete(streamId);
      creators.delete(streamId);
      if (hosted.delete(streamId)) await ctx.sfu.closeRoom(streamId);
    };
    cleanups.push(async () => {
      // Rooms this node hosts die with it; the creator goes live again on another node.
      for (const streamId of [...hosted]) await releaseRoom(streamId).catch(() => undefined);
      listeners.clear();
      goLiveListeners.clear();
    });

    let store: StreamStore;
    /** This node's viewers per stream as it counted them, and the streams whose change the directory may have missed. */
    const viewersHere = new Map<string, number>();
    const unsynced = new Set<string>();
    const adjustViewers = (streamId: string, delta: number): Promise<number> => {
      const here = Math.max(0, (viewersHere.get(streamId) ?? 0) + delta);
      if (here > 0) viewersHere.set(streamId, here);
      else viewersHere.delete(streamId);
      return store.adjustViewers(streamId, nodeId, delta).catch((err: unknown) => {
        if (isRedisUnreachable(err)) unsynced.add(streamId);
        throw err;
      });
    };
    /** Writes the counts of this node that the directory missed while Redis was away (absolute, not a delta). */
    const resyncViewers = (): void => {
      for (const streamId of [...unsynced]) {
        unsynced.delete(streamId);
        store.setViewers(streamId, nodeId, viewersHere.get(streamId) ?? 0).catch((err: unknown) => {
          if (isRedisUnreachable(err)) unsynced.add(streamId);
          log.warn({ err, streamId }, 'could not correct the viewer count');
        });
      }
    };
    let handoff: RoomHandoff = localHandoff;
    const limitOptions = {
      max: config.STREAM_CREATE_RATE_LIMIT_MAX,
      windowSeconds: config.STREAM_CREATE_RATE_LIMIT_WINDOW_SECONDS,
    };
    let limit = new CreationLimit(limitOptions);
    const { redis } = ctx;
    if (redis) {
      limit = new CreationLimit({ ...limitOptions, redis: { client: redis, prefix: config.STREAMS_REDIS_PREFIX } });
      const availability = dependencyOf(ctx.modules, 'redis');
      store = new RedisStreamStore(
        redis,
        config.STREAMS_REDIS_PREFIX,
        { graceMs, endedKeepMs: config.STREAM_ENDED_TTL_SECONDS * 1000 },
        availability,
      );
      const ttlMs = config.STREAMS_NODE_TTL_SECONDS * 1000;
      await store.heartbeat(nodeId, ttlMs);
      const owned = store;
      const renew = () => {
        owned.heartbeat(nodeId, ttlMs).catch((err) => log.warn({ err }, 'could not renew the node heartbeat'));
      };
      const beat = setInterval(renew, ttlMs / 3);
      // Redis back after an outage: renewed at once, so that the other nodes see this one alive as soon as they can,
      // and the viewer counts it missed are put right.
      const unwatch = availability?.onChange((up) => {
        if (!up) return;
        renew();
        resyncViewers();
      });
      cleanups.push(async () => {
        clearInterval(beat);
        unwatch?.();
        // Not waited for beyond the deadline: a node shutting down while Redis is away must still stop.
        await guardRedis(undefined, () => owned.forgetNode(nodeId));
      });
      const onChange = ({ streamId, type, node }: RoomChange) => {
        if (!hosted.has(streamId)) return;
        log.info({ streamId, type, node }, 'closing a room another node took over or ended');
        (async () => {
          if (type === 'ended') await notify({ type, streamId });
          await releaseRoom(streamId);
        })().catch((err) => log.warn({ err, streamId }, 'could not close a room'));
      };
      const shared = await redisHandoff(redis, config.STREAMS_REDIS_PREFIX, nodeId, onChange, log);
      cleanups.push(() => shared.close());
      handoff = shared;
    } else {
      store = new MemoryStreamStore();
    }

    if (ctx.chain) {
      // Aborted first on close: an announcement waiting for the directory's Redis stops waiting.
      const closingWatcher = new AbortController();
      const watcher = await SettlementWatcher.start(ctx.chain, {
        onBlock: (d) =>
          d.status === 'pending' ? recordAnnouncements(store, d.block, log, closingWatcher.signal) : undefined,
        onChainError: (err) => log.warn({ err: err.message }, 'chain read failed; retrying'),
      });
      cleanups.push(() => {
        closingWatcher.abort();
        return watcher.close();
      });
    }

    const chainOf = (): ChainClient => {
      if (!ctx.chain) throw new SignalingError('CHAIN_UNAVAILABLE', 'this node is not connected to a chain');
      return ctx.chain;
    };

    const recordOf = async (streamId: string): Promise<StreamRecord | undefined> => {
      const stored = await store.get(streamId);
      return stored && withTerms(stored);
    };
    await registerStreamRoutes({
      app: ctx.app,
      auth,
      pinner: ctx.pinner,
      chain: chainOf,
      store,
      limit,
      record: recordOf,
      publicStreams: async () => (await store.listPublic()).map(withTerms),
      defaultTerms,
      windows: viewersConfig,
      pendingTtlMs: config.STREAM_PENDING_TTL_SECONDS * 1000,
      log,
    });
    await registerThumbnailRoute({ app: ctx.app, sfu: ctx.sfu, record: recordOf });

    const requireCreatorOf = async (socket: SignalingSocket, streamId: string): Promise<StoredStream> =>
      requireCreator(socket.data.address ?? '', streamId);
    const requireCreator = async (address: string, streamId: string): Promise<StoredStream> => {
      const stream = await store.get(streamId);
      const isCreator = stream !== undefined && sameAccount(stream.creator, address);
      if (!stream || (stream.status === 'pending' && !isCreator)) {
        throw new SignalingError('STREAM_NOT_FOUND', `no stream ${streamId}`);
      }
      if (!isCreator) throw new SignalingError('NOT_CREATOR', 'only the creator of this stream can do that');
      return stream;
    };

    /**
     * Ends a stream everywhere: the directory, then the clients in its room (before the viewer sessions close and take
     * their sockets out of it), this node's viewers, the room (wherever it is).
     */
    const endStream = async (streamId: string): Promise<void> => {
      await store.markEnded(streamId, new Date(), config.STREAM_ENDED_TTL_SECONDS * 1000);
      ctx.io.to(streamRoom(streamId)).emit('stream:ended', { streamId });
      if (hosted.has(streamId)) await notify({ type: 'ended', streamId });
      await releaseRoom(streamId);
      await handoff.publish({ type: 'ended', streamId, node: nodeId });
      log.info({ streamId }, 'stream ended');
    };

    /** What took streams live (socket or ingest) is gone: each waits for the creator for the grace, then ends. */
    /** Ends a stream whose creator did not come back; while the directory's Redis is away, tried again each second. */
    const endAbandoned = (streamId: string): void => {
      awayTimers.delete(streamId);
      endStream(streamId).catch((err: unknown) => {
        if (!isRedisUnreachable(err) || !hosted.has(streamId) || creators.has(streamId)) {
          log.warn({ err, streamId }, 'could not end a stream');
          return;
        }
        log.warn({ streamId }, 'directory away: the stream ends once it is back');
        awayTimers.set(
          streamId,
          setTimeout(() => endAbandoned(streamId), 1_000),
        );
      });
    };

    const creatorLeft = (holder: object): void => {
      for (const [streamId, s] of creators) {
        if (s !== holder || !hosted.has(streamId)) continue;
        creators.delete(streamId);
        clearTimeout(awayTimers.get(streamId));
        awayTimers.set(
          streamId,
          setTimeout(() => {
            log.info({ streamId }, 'the creator did not come back in time');
            endAbandoned(streamId);
          }, graceMs),
        );
        log.info({ streamId, graceSeconds: config.STREAM_CREATOR_GRACE_SECONDS }, 'creator away');
        void notify({ type: 'creator-away', streamId, graceSeconds: config.STREAM_CREATOR_GRACE_SECONDS });
      }
    };

    /** Refuses what cannot go live: an ended stream, or one whose announcement is not on chain yet. */
    const checkGoLive = (stream: StoredStream): void => {
      if (stream.status === 'ended') {
        throw new SignalingError('STREAM_NOT_LIVE', 'this stream has ended', { reason: 'ended' });
      }
      if (stream.status === 'pending') {
        throw new SignalingError('STREAM_NOT_LIVE', 'the announcement is not on chain yet', {
          reason: 'not-announced',
        });
      }
    };

    /**
     * Opens the stream's room here (unrecorded with `recording` false, else as the node's RECORDING says: the choice
     * applies when the room opens) and makes `holder` the one the stream waits for (a return within the grace).
     */
    const takeLive = async (streamId: string, holder: object, recording?: false): Promise<void> => {
      await ctx.sfu.openRoom(streamId, recording === undefined ? {} : { recording });
      hosted.add(streamId);
      // Going live again (a reconnect within the grace period) keeps the room and its viewers.
      if (awayTimers.has(streamId)) log.info({ streamId }, 'creator back');
      clearTimeout(awayTimers.get(streamId));
      awayTimers.delete(streamId);
      creators.set(streamId, holder);
    };

    const markLive = async (streamId: string): Promise<void> => {
      await store.markLive(streamId, nodeId, new Date());
      await handoff.publish({ type: 'hosted', streamId, node: nodeId });
      log.info({ streamId }, 'stream live');
    };

    let closing: Promise<void> | undefined;
    return {
      name: 'streams',
      nodeId,
      get: recordOf,
      adjustViewers,
      onLifecycle: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      onGoLive: (listener) => {
        goLiveListeners.add(listener);
        return () => goLiveListeners.delete(listener);
      },
      requireCreator: async (creator, streamId) => withTerms(await requireCreator(creator, streamId)),
      goLiveFor: async (creator, streamId) => {
        checkGoLive(await requireCreator(creator, streamId));
        const presence = { leave: () => creatorLeft(presence) };
        await takeLive(streamId, presence);
        await markLive(streamId);
        await wentLive(streamId);
        return presence;
      },
      liveableOf: async (creator) =>
        (await store.listPublic())
          .filter((s) => sameAccount(s.creator, creator) && (s.status === 'announced' || s.status === 'live'))
          .sort(
            (a, b) =>
              Number(b.status === 'live') - Number(a.status === 'live') || b.createdAt.localeCompare(a.createdAt),
          )
          .map(withTerms),
      handlers: {
        'stream:goLive': async (socket, { streamId, record, replayPricePerSecond }) => {
          checkGoLive(await requireCreatorOf(socket, streamId));
          const replayPrice = replayPricePerSecond === undefined ? undefined : BigInt(replayPricePerSecond);
          if (replayPrice !== undefined && replayPrice > MAX_PRICE_PER_SECOND) {
            throw new SignalingError('AMOUNT_OUT_OF_RANGE', 'replayPricePerSecond is above the largest price', {
              field: 'replayPricePerSecond',
              max: MAX_PRICE_PER_SECOND.toString(),
            });
          }
          // The creator can turn recording off, not on where the node's operator turned it off (RECORDING=off).
          await takeLive(streamId, socket, record === false ? false : undefined);
          if (!hookedSockets.has(socket)) {
            hookedSockets.add(socket);
            socket.on('disconnect', () => creatorLeft(socket));
          }
          if (!socket.connected) creatorLeft(socket);
          await socket.join(streamRoom(streamId));
          await markLive(streamId);
          await wentLive(streamId, replayPrice);
          return { streamId };
        },
        'stream:end': async (socket, { streamId }) => {
          const stream = await requireCreatorOf(socket, streamId);
          if (stream.status === 'ended') return { streamId };
          await endStream(streamId);
          return { streamId };
        },
      },
      close: () => {
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
