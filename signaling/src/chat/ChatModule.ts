import { sameAccount } from '../accounts.ts';
import { SignalingError } from '../errors.ts';
import { ledgerModuleOf } from '../ledger/ledgerModule.ts';
import type { ClientEvent } from '../protocol.ts';
import type { RequestHandler, RequestHandlers, SignalingSocket } from '../RequestRouter.ts';
import type { SignalingContext, SignalingModule, SignalingModuleFactory } from '../SignalingContext.ts';
import type { StreamRecord } from '../streams/StreamStore.ts';
import { getStreamsModule } from '../streams/StreamsModule.ts';
import type { ViewersModule } from '../viewers/ViewersModule.ts';
import { ChatLimits } from './ChatLimits.ts';
import { ChatPolicy, canonical } from './ChatPolicy.ts';
import { ChatStore } from './ChatStore.ts';
import { type ChatConfig, loadChatConfig } from './config.ts';
import { ModerationStore } from './ModerationStore.ts';
import { chatMetrics } from './metrics.ts';
import { moderationHandlers } from './moderationHandlers.ts';
import { chatRoom, ReactionTally } from './ReactionTally.ts';
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
  const policy = new ChatPolicy(moderation);
  const limits = new ChatLimits(config, ctx.redis);
  const metrics = chatMetrics(ctx.metrics.registry);
  const reactions = new ReactionTally(ctx.io, () => metrics.reactionEvents.inc());
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
    const settings = await store.settings(streamId);
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
      // In the room before the history is read, so no message falls between the two (one may come twice: by id).
      await socket.join(room);
      // Whether the wallet moderates, so a client asks chat:moderators only when it does (one lookup by key).
      const [page, settings, role] = await Promise.all([
        store.page(streamId, CHAT_PAGE_MAX),
        store.settings(streamId),
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
      return {};
    }),
    'chat:send': guarded('chat:send', async (socket, p) => {
      const address = socket.data.address as string;
      const { streamId } = p;
      requireJoined(socket, streamId);
      // A retry of a message already stored answers it again and spends no limit.
      if (p.clientId) {
        const stored = await store.byClientId(streamId, address, p.clientId);
        if (stored) return { message: stored };
      }
      const { settings, grant } = await admitPost(address, streamId);
      if (!grant.rateLimitExempt) await limits.message(address);
      if (!grant.slowModeExempt) await limits.slowMode(streamId, address, settings.slowModeSeconds);
      const { message, fresh } = await store.add(newMessage(address, grant.badges, p));
      if (fresh) {
        // Everyone else in the room, on every node; the sender has it in the ack.
        socket.to(chatRoom(streamId)).emit('chat:message', message);
        metrics.messages.inc();
        log.debug({ streamId, id: message.id, sender: address }, 'chat message');
      }
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
    ...moderationHandlers({ io: ctx.io, store: moderation, policy, viewers, readable, guarded, log }),
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
    handlers,
    async close() {
      if (closed) return;
      closed = true;
      stopTips();
      tipFeed.close();
      reactions.close();
      limits.close();
    },
  };
}
