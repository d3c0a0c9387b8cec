import type { Logger } from 'pino';
import { sameAccount } from '../accounts.ts';
import { SignalingError } from '../errors.ts';
import type { ClientEvent } from '../protocol.ts';
import type { RequestHandler, RequestHandlers, SignalingSocket } from '../RequestRouter.ts';
import type { StreamRecord } from '../streams/StreamStore.ts';
import type { ChatLimits } from './ChatLimits.ts';
import type { PostGrant } from './ChatPolicy.ts';
import type { ChatStore, NewChatMessage } from './ChatStore.ts';
import type { ChatConfig } from './config.ts';
import type { ChatMetrics } from './metrics.ts';
import type { ChatBadge, ChatSettings } from './wire.ts';

/** A post the policy let through: the stream, its chat settings and the poster's grant. */
export interface AdmittedPost {
  stream: StreamRecord;
  settings: ChatSettings;
  grant: PostGrant;
}

/** What `chat:send` and `chat:tip` carry besides the stream. */
interface PostFields {
  streamId: string;
  text: string;
  clientId?: string | undefined;
  mediaTime?: number | undefined;
}

/** The message to store for a post of `sender` (server time now, media time rounded to ms). */
export function newMessage(sender: string, badges: ChatBadge[], p: PostFields): NewChatMessage {
  return {
    streamId: p.streamId,
    sender,
    displayName: null,
    badges,
    text: p.text,
    sentAt: Date.now(),
    mediaTime: p.mediaTime === undefined ? null : Math.round(p.mediaTime * 1000) / 1000,
    clientId: p.clientId ?? null,
  };
}

/** What the tip handler needs of the chat module. */
export interface TipDeps {
  store: ChatStore;
  limits: ChatLimits;
  config: ChatConfig;
  metrics: ChatMetrics;
  /** The stream, settings and grant of a post (STREAM_NOT_FOUND, STREAM_NOT_LIVE, the policy's refusals). */
  admitPost: (address: string, streamId: string) => Promise<AdmittedPost>;
  /** Refuses BAD_REQUEST unless the socket joined the stream's chat. */
  requireJoined: (socket: SignalingSocket, streamId: string) => void;
  /** Wraps a handler with the chat's socket limit, refusal metrics and shutdown check. */
  guarded: <E extends ClientEvent>(event: E, handler: RequestHandler<E>) => RequestHandler<E>;
  log: Logger;
}

/**
 * `chat:tip` (docs/ARCHITECTURE.md "Chat / Tips"): a message with a tip in the stream's asset, stored `unsigned` and
 * answered to its sender only, who signs `buildTip` with the message's id; `TipFeed` shows it to the room once the
 * chain has the transfer. The policy's checks as for `chat:send`, but no slow mode and no message limit: a limit of
 * its own per wallet.
 */
export function tipHandlers(d: TipDeps): RequestHandlers {
  const { store, limits, config } = d;
  return {
    'chat:tip': d.guarded('chat:tip', async (socket, p) => {
      const address = socket.data.address as string;
      const { streamId } = p;
      d.requireJoined(socket, streamId);
      if (p.clientId) {
        const stored = await store.byClientId(streamId, address, p.clientId);
        if (stored?.tip) return { message: stored };
        if (stored) throw new SignalingError('BAD_REQUEST', 'this clientId names a message without a tip');
      }
      const { stream, grant } = await d.admitPost(address, streamId);
      if (sameAccount(address, stream.creator)) {
        throw new SignalingError('BAD_REQUEST', 'a creator does not tip its own stream');
      }
      if (String(p.asset) !== String(stream.asset)) {
        throw new SignalingError('BAD_REQUEST', `tips in this stream are in its asset (${stream.asset})`, {
          asset: String(stream.asset),
        });
      }
      const amount = BigInt(p.amount);
      if (amount <= 0n || amount > config.CHAT_TIP_MAX) {
        throw new SignalingError('AMOUNT_OUT_OF_RANGE', 'a tip is more than 0 and at most the node’s maximum', {
          min: '1',
          max: config.CHAT_TIP_MAX.toString(),
        });
      }
      await limits.tip(address);
      const { message, fresh } = await store.add({
        ...newMessage(address, grant.badges, p),
        tipAsset: String(stream.asset),
        tipAmount: amount,
        tipStatus: 'unsigned',
      });
      if (fresh) {
        d.metrics.tips.inc({ status: 'unsigned' });
        d.log.debug({ streamId, id: message.id, sender: address, amount: p.amount }, 'tip declared');
      }
      return { message };
    }),
  };
}
