import type { Logger } from 'pino';
import { SignalingError } from '../errors.ts';
import type { ClientEvent } from '../protocol.ts';
import type { RequestHandler, RequestHandlers } from '../RequestRouter.ts';
import type { SignalingContext } from '../SignalingContext.ts';
import type { StreamRecord } from '../streams/StreamStore.ts';
import type { ViewersModule } from '../viewers/ViewersModule.ts';
import { type ChatPolicy, canonical } from './ChatPolicy.ts';
import type { ModerationStore, NewModAction } from './ModerationStore.ts';
import { chatRoom } from './ReactionTally.ts';
import { CHAT_MODERATORS_MAX } from './wire.ts';

/** Newest actions `chat:modlog` answers when the request names no limit. */
const MODLOG_PAGE_DEFAULT = 50;

/** What the moderation handlers need of the chat module. */
export interface ModerationDeps {
  io: SignalingContext['io'];
  store: ModerationStore;
  policy: ChatPolicy;
  /** The node's viewers module, for `removeFromStream` (absent on a node without viewers: nothing to remove). */
  viewers: ViewersModule | undefined;
  /** The stream, readable by `address` (else STREAM_NOT_FOUND). */
  readable: (streamId: string, address: string | undefined) => Promise<StreamRecord>;
  /** Wraps a handler with the chat's socket limit, refusal metrics and shutdown check. */
  guarded: <E extends ClientEvent>(event: E, handler: RequestHandler<E>) => RequestHandler<E>;
  /** After a write to the creator's moderators or bans: drops what every node holds of them (waits for the nodes). */
  changed: (creator: string) => Promise<void>;
  log: Logger;
}

/**
 * The chat's moderation requests (docs/ARCHITECTURE.md "Chat"): the creator names moderators; the creator and its
 * moderators delete messages, time wallets out, ban and unban them (per creator, in the database, so across its
 * streams, nodes and restarts) and read the log of every action.
 */
export function moderationHandlers(d: ModerationDeps): RequestHandlers {
  const { store, policy, guarded } = d;

  /** The stream and the actor's role in its chat, refusing NOT_MODERATOR to anyone else. */
  const moderated = async (address: string, streamId: string) => {
    const stream = await d.readable(streamId, address);
    const role = await policy.requireModerator(address, stream.creator);
    return { stream, role, creator: canonical(stream.creator), actor: canonical(address) };
  };
  const record = (action: NewModAction): Promise<unknown> => store.record(action);

  return {
    'chat:moderators': guarded('chat:moderators', async (socket, { streamId, add = [], remove = [] }) => {
      const address = socket.data.address as string;
      const stream = await d.readable(streamId, address);
      const creator = canonical(stream.creator);
      if (add.length === 0 && remove.length === 0) {
        await policy.requireModerator(address, stream.creator);
        return { moderators: await store.moderators(creator) };
      }
      if ((await policy.role(address, stream.creator)) !== 'creator') {
        throw new SignalingError('NOT_CREATOR', "only the stream's creator can name or remove its moderators");
      }
      const added = [...new Set(add.map(canonical))];
      const removed = [...new Set(remove.map(canonical))].filter((w) => !added.includes(w));
      if (added.includes(creator)) throw new SignalingError('BAD_REQUEST', 'the creator moderates its chats already');
      const next = new Set(await store.moderators(creator));
      for (const w of removed) next.delete(w);
      for (const w of added) next.add(w);
      if (next.size > CHAT_MODERATORS_MAX) {
        throw new SignalingError('LIMIT_REACHED', `a creator names at most ${CHAT_MODERATORS_MAX} moderators`, {
          limit: 'moderators',
          max: String(CHAT_MODERATORS_MAX),
        });
      }
      const moderators = await store.setModerators(creator, added, removed);
      await d.changed(creator);
      const details = { added: added.join(','), removed: removed.join(',') };
      await record({ creator, streamId, actor: creator, action: 'moderators', target: null, details, at: Date.now() });
      d.log.info({ streamId, creator, ...details }, 'chat moderators changed');
      return { moderators };
    }),

    'chat:delete': guarded('chat:delete', async (socket, { streamId, messageId }) => {
      const address = socket.data.address as string;
      const { creator, actor } = await moderated(address, streamId);
      const message = await store.message(streamId, BigInt(messageId));
      if (!message) throw new SignalingError('BAD_REQUEST', `no message ${messageId} in this chat`);
      // Deleting a deleted message again is answered, and neither sent nor recorded twice.
      if (!(await store.deleteMessage(streamId, BigInt(messageId), actor, Date.now()))) return {};
      d.io.to(chatRoom(streamId)).emit('chat:deleted', { streamId, messageId, by: address });
      await record({
        creator,
        streamId,
        actor,
        action: 'delete',
        target: canonical(message.sender),
        details: { messageId },
        at: Date.now(),
      });
      return {};
    }),

    'chat:timeout': guarded('chat:timeout', async (socket, { streamId, wallet, minutes }) => {
      const { role, stream, creator, actor } = await moderated(socket.data.address as string, streamId);
      const target = canonical(wallet);
      await policy.mayAct(role, target, stream.creator);
      if ((await store.ban(creator, target))?.until === null) {
        throw new SignalingError('BAD_REQUEST', 'the wallet is banned; unban it first');
      }
      const at = Date.now();
      const until = at + minutes * 60_000;
      await store.setBan(creator, target, { until, by: actor, at });
      await d.changed(creator);
      const details = { minutes: String(minutes), until: String(until) };
      await record({ creator, streamId, actor, action: 'timeout', target, details, at });
      d.log.info({ streamId, target, ...details }, 'wallet timed out in chat');
      return { until };
    }),

    'chat:ban': guarded('chat:ban', async (socket, { streamId, wallet, removeFromStream }) => {
      const { role, stream, creator, actor } = await moderated(socket.data.address as string, streamId);
      const target = canonical(wallet);
      await policy.mayAct(role, target, stream.creator);
      const at = Date.now();
      await store.setBan(creator, target, { until: null, by: actor, at });
      await d.changed(creator);
      const removed = removeFromStream ? ((await d.viewers?.removeWallet(target, streamId, 'banned')) ?? 0) : 0;
      const details = { removeFromStream: String(removeFromStream ?? false), removed: String(removed) };
      await record({ creator, streamId, actor, action: 'ban', target, details, at });
      d.log.info({ streamId, target, ...details }, 'wallet banned from chat');
      return { removed };
    }),

    'chat:unban': guarded('chat:unban', async (socket, { streamId, wallet }) => {
      const { creator, actor } = await moderated(socket.data.address as string, streamId);
      const target = canonical(wallet);
      const lifted = await store.liftBan(creator, target);
      if (lifted) await d.changed(creator);
      if (lifted) await record({ creator, streamId, actor, action: 'unban', target, details: {}, at: Date.now() });
      return { lifted };
    }),

    'chat:modlog': guarded('chat:modlog', async (socket, { streamId, before, limit }) => {
      const { creator } = await moderated(socket.data.address as string, streamId);
      return store.log(creator, limit ?? MODLOG_PAGE_DEFAULT, before === undefined ? undefined : BigInt(before));
    }),
  };
}
