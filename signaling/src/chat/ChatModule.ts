import { sameAccount } from '../accounts.ts';
import { dependencyOf } from '../dependencies/dependencyModule.ts';
import { SignalingError } from '../errors.ts';
import { ledgerModuleOf } from '../ledger/ledgerModule.ts';
import type { ClientEvent } from '../protocol.ts';
import type { RequestHandler, RequestHandlers, SignalingSocket } from '../RequestRouter.ts';
import type { SignalingContext, SignalingModule, SignalingModuleFactory } from '../SignalingContext.ts';
import type { StreamRecord } from '../streams/StreamStore.ts';
import { getStreamsModule } from '../streams/StreamsModule.ts';
import type { ViewersModule } from '../viewers/ViewersModule.ts';
import { CHAT_BATCH_MAX, ChatBatcher } from './ChatBatcher.ts';
import { ChatInvalidationBus } from './ChatInvalidation.ts';
import { ChatLimits } from './ChatLimits.ts';
import { ChatPolicy, canonical } from './ChatPolicy.ts';
import { ChatStateCache } from './ChatStateCache.ts';
import { ChatStore } from './ChatStore.ts';
import { CHAT_FANOUT_SLICES, chatSliceRoom, isChatSliceRoom } from './chatFanOut.ts';
import { type ChatConfig, loadChatConfig } from './config.ts';
import { ModerationStore } from './ModerationStore.ts';
import { chatMetrics, observeFlush } from './metrics.ts';
import { moderationHandlers } from './moderationHandlers.ts';
import { chatRoom, ReactionTally } from './ReactionTally.ts';
import { RecentPosts } from './RecentPosts.ts';
import { StreamTipTotals } from './StreamTipTotals.ts';
import { TipFeed } from './TipFeed.ts';
import { TipStore } from './TipStore.ts';
import { type AdmittedPost, newMessage, tipHandlers } from './tipHandlers.ts';
import { CHAT_PAGE_MAX, CHAT_REACTIONS } from './wire.ts';

export { chatRoom } from './ReactionTally.ts';

/** The chat module as other modules see it (`ctx.modules.get('chat')`). */
export interface ChatModule extends SignalingModule {
  readonly name: 'chat';
  /** History and settings in the signaling database. */
  readonly store: ChatStore;
  /** Who may post, moderate and change settings. */
  readonly policy: ChatPolicy;
  /** Moderators, bans and timeouts per creator, and the moderation log. */
  readonly moderation: ModerationStore;
  /** This node's reaction aggregation. */
  readonly reactions: ReactionTally;
  /** The tip columns of the messages (tipped messages and the stream's tip sums). */
  readonly tips: TipStore;
  /** The tip totals of the streams `stream:stats` reports, in memory, kept current by the tip deliveries. */
  readonly tipTotals: StreamTipTotals;
  /** Moderators, bans and settings in memory (the hot path of `chat:send`), invalidated on writes on any node. */
  readonly state: ChatStateCache;
  /** This node's new messages, stored and sent in batches per room. */
  readonly batcher: ChatBatcher;
  /** Stops the reaction timer and refuses further requests; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Live chat per stream over the signaling socket (docs/ARCHITECTURE.md "Chat"): anyone reads (`chat:join`,
 * `chat:history`), signed-in wallets post (`chat:send`), tip (`chat:tip`: `tipHandlers.ts`, `TipFeed.ts`) and react
 * (`chat:react`), the creator sets slow mode and paying-only (`chat:settings`), the creator and its moderators
 * moderate (`moderationHandlers.ts`). Messages and reactions fan out through the Socket.IO room `chat:<streamId>`, so nodes
 * sharing the Redis adapter share the chat. Needs the streams and ledger modules before it; uses the viewers module,
 * when the node has one, for the `paying` badge. Pass `config` to override the environment.
 */
export function chatModule(config?: ChatConfig): SignalingModuleFactory {
  return async (ctx) => createChatModule(ctx, config ?? loadChatConfig());
}

async function createChatModule(ctx: SignalingContext, config: ChatConfig): Promise<ChatModule> {
  const log = ctx.log.child({ part: 'chat' });
  const streams = getStreamsModule(ctx);
  const ledgerModule = ledgerModuleOf(ctx.modules);
  const { ledger } = ledgerModule;
  const store = new ChatStore(ledger);
  const tips = new TipStore(ledger);
  const tipTotals = new StreamTipTotals(tips);
  const moderation = new ModerationStore(ledger);
  const viewers = ctx.modules.get('viewers') as ViewersModule | undefined;
  const state = new ChatStateCache(moderation, store);
  const invalidation = new ChatInvalidationBus(
    ctx.io,
    ctx.redis !== undefined,
    (m) => (m.kind === 'creator' ? state.invalidateCreator(m.creator) : state.invalidateSettings(m.streamId)),
    log,
  );
  const policy = new ChatPolicy(state);
  const limits = new ChatLimits(config, ctx.redis, dependencyOf(ctx.modules, 'redis'));
  const metrics = chatMetrics(ctx.metrics.registry);
  const reactions = new ReactionTally(ctx.io, CHAT_FANOUT_SLICES, () => metrics.reactionEvents.inc());
  const batcher = new ChatBatcher(
    ctx.io,
    store,
    log,
    {
      windowMs: config.CHAT_BATCH_WINDOW_MS,
      maxQueued: config.CHAT_QUEUE_MAX,
      maxBatch: CHAT_BATCH_MAX,
      slices: CHAT_FANOUT_SLICES,
    },
    (n, timing) => observeFlush(metrics, n, timing),
  );
  const recent = new RecentPosts();
  let closed = false;

  /** A stream anyone may read: announced (or pending, for its creator), live or ended. */
  const readable = async (streamId: string, address: string | undefined): Promise<StreamRecord> => {
    const stream = await streams.get(streamId);
    if (!stream || (stream.status === 'pending' && !sameAccount(stream.creator, address ?? ''))) {
      throw new SignalingError('STREAM_NOT_FOUND', `no stream ${streamId}`);
    }
    return stream;
  };
  const requireJoined = (socket: SignalingSocket, streamId: string): void => {
    if (!socket.rooms.has(chatRoom(streamId))) {
      throw new SignalingError('BAD_REQUEST', 'join the chat first (chat:join)');
    }
  };

  /** The stream (live or announced), its settings and the poster's grant (bans, timeouts, paying-only). */
  const admitPost = async (address: string, streamId: string): Promise<AdmittedPost> => {
    const stream = await readable(streamId, address);
    if (stream.status === 'ended') {
      throw new SignalingError('STREAM_NOT_LIVE', 'this stream has ended; its chat is read-only', { reason: 'ended' });
    }
    const settings = await state.settings(streamId);
    const paying = viewers?.payingHere(address, streamId) ?? false;
    const grant = await policy.admit({ address, creator: stream.creator, paying }, settings);
    return { stream, settings, grant };
  };

  /** Counts the socket's request and each refusal; nothing is served once the module closes. */
  const guarded = <E extends ClientEvent>(event: E, handler: RequestHandler<E>): RequestHandler<E> => {
    return async (socket, payload) => {
      try {
        if (closed) throw new SignalingError('INTERNAL', 'the node is shutting down');
        await limits.request(socket.id);
        return await handler(socket, payload);
      } catch (err) {
        if (err instanceof SignalingError) metrics.refusals.inc({ event, code: err.code });
        throw err;
      }
    };
  };

  const handlers: RequestHandlers = {
    'chat:join': guarded('chat:join', async (socket, { streamId }) => {
      const address = socket.data.address;
      const stream = await readable(streamId, address);
      const room = chatRoom(streamId);
      const joined = [...socket.rooms].filter((r) => r.startsWith('chat:') && r !== room).length;
      if (joined >= config.CHAT_ROOMS_PER_SOCKET) {
        throw new SignalingError('LIMIT_REACHED', 'this connection follows too many chats; leave one first', {
          limit: 'chats-per-socket',
          max: String(config.CHAT_ROOMS_PER_SOCKET),
        });
      }
      // In the room before the history is read, so no message falls between the two (one may come twice: by id);
      // and in one part of it, which new messages go to (once, however often the socket joins).
      const inSlice = [...socket.rooms].some((r) => isChatSliceRoom(r, streamId));
      await socket.join(inSlice ? room : [room, chatSliceRoom(streamId, batcher.nextSlice())]);
      // Whether the wallet moderates, so a client asks chat:moderators only when it does (one lookup by key).
      const [page, settings, role] = await Promise.all([
        store.page(streamId, CHAT_PAGE_MAX),
        state.settings(streamId),
        address ? policy.role(address, stream.creator) : undefined,
      ]);
      return {
        streamId,
        messages: page.messages,
        settings,
        reactions: CHAT_REACTIONS,
        role: role === 'creator' || role === 'moderator' ? role : null,
      };
    }),
    'chat:history': guarded('chat:history', async (_socket, { streamId, before, limit }) =>
      store.page(streamId, limit ?? CHAT_PAGE_MAX, before === undefined ? undefined : BigInt(before)),
    ),
    'chat:leave': guarded('chat:leave', async (socket, { streamId }) => {
      await socket.leave(chatRoom(streamId));
      for (const r of [...socket.rooms]) if (isChatSliceRoom(r, streamId)) await socket.leave(r);
      return {};
    }),
    'chat:send': guarded('chat:send', async (socket, p) => {
      const address = socket.data.address as string;
      const { streamId, clientId } = p;
      requireJoined(socket, streamId);
      // A retry of a message posted lately (stored or being stored) answers it again and spends no limit.
      const earlier = clientId ? recent.get(streamId, address, clientId) : undefined;
      if (earlier) return { message: (await earlier).message };
      // A full queue refuses before any limit is spent: the retry is not counted twice.
      batcher.refuseWhenFull();
      const { settings, grant } = await admitPost(address, streamId);
      try {
        if (!grant.rateLimitExempt) await limits.message(address);
        if (!grant.slowModeExempt) await limits.slowMode(streamId, address, settings.slowModeSeconds);
      } catch (err) {
        // A retry of a message stored before this node's memory (another node, a restart) is answered, not refused.
        const stored = clientId ? await store.byClientId(streamId, address, clientId) : undefined;
        if (stored) return { message: stored };
        throw err;
      }
      // Stored with the room's next batch and sent to the room (the sender too) as chat:messages; a retry whose
      // client id is stored already is answered that message (not sent again).
      const posted = batcher.post(newMessage(address, grant.badges, p));
      if (clientId) recent.set(streamId, address, clientId, posted);
      const { message, fresh } = await posted;
      if (fresh) log.debug({ streamId, id: message.id, sender: address }, 'chat message');
      return { message };
    }),
    'chat:react': guarded('chat:react', async (socket, { streamId, reaction }) => {
      requireJoined(socket, streamId);
      limits.reaction(socket.data.address as string);
      reactions.add(streamId, reaction);
      metrics.reactions.inc({ reaction });
      return {};
    }),
    'chat:settings': guarded('chat:settings', async (socket, { streamId, slowModeSeconds, payingOnly }) => {
      const address = socket.data.address as string;
      const stream = await readable(streamId, address);
      await policy.maySetSettings(address, stream.creator);
      const settings = await store.setSettings(streamId, { slowModeSeconds, payingOnly }, address);
      await invalidation.publish({ kind: 'settings', streamId });
      ctx.io.to(chatRoom(streamId)).emit('chat:settings', { streamId, ...settings });
      await moderation.record({
        creator: canonical(stream.creator),
        streamId,
        actor: canonical(address),
        action: 'settings',
        target: null,
        details: { slowModeSeconds: String(slowModeSeconds), payingOnly: String(payingOnly) },
        at: Date.now(),
      });
      log.info({ streamId, ...settings }, 'chat settings changed');
      return { settings };
    }),
    ...moderationHandlers({
      io: ctx.io,
      store: moderation,
      policy,
      viewers,
      readable,
      guarded,
      changed: (creator) => invalidation.publish({ kind: 'creator', creator }),
      log,
    }),
    ...tipHandlers({ store, limits, config, metrics, admitPost, requireJoined, guarded, log }),
  };
  const tipFeed = new TipFeed(tips, tipTotals, streams, ctx.io, metrics, log);
  const stopTips = ledgerModule.onTips((delivery) => tipFeed.deliver(delivery));

  return {
    name: 'chat',
    store,
    policy,
    moderation,
    reactions,
    tips,
    tipTotals,
    state,
    batcher,
    handlers,
    async close() {
      if (closed) return;
      closed = true;
      stopTips();
      tipFeed.close();
      reactions.close();
      batcher.close();
      invalidation.close();
      state.clear();
      limits.close();
    },
  };
}
