import { sameAccount } from '../accounts.ts';
import { SignalingError } from '../errors.ts';
import type { ChatBadge, ChatSettings } from './wire.ts';

/** Who wants to post, as the chat module found them. */
export interface Poster {
  /** The signed-in wallet. */
  address: string;
  /** The stream's creator. */
  creator: string;
  /** The wallet has a live paid session of the stream on this node. */
  paying: boolean;
}

/** What a poster may do: its badges, and which limits it skips. */
export interface PostGrant {
  badges: ChatBadge[];
  /** Skips the stream's slow mode (the creator; moderators and tipped messages later). */
  slowModeExempt: boolean;
  /** Skips the wallet's message rate limit (moderators later; nobody yet). */
  rateLimitExempt: boolean;
}

/**
 * Decides whether a wallet may post in a stream's chat and with which badges, and who may change the chat's
 * settings: the one place moderation (moderators, timeouts, bans) plugs into.
 */
export class ChatPolicy {
  /** The poster's grant, or a refusal (CHAT_PAYING_ONLY). */
  async admit(poster: Poster, settings: ChatSettings): Promise<PostGrant> {
    const creator = sameAccount(poster.address, poster.creator);
    const badges: ChatBadge[] = [];
    if (creator) badges.push('creator');
    if (poster.paying) badges.push('paying');
    if (settings.payingOnly && !creator && !poster.paying) {
      throw new SignalingError('CHAT_PAYING_ONLY', 'this chat is for paying viewers only: watch the stream to post');
    }
    return { badges, slowModeExempt: creator, rateLimitExempt: false };
  }

  /** Refuses NOT_CREATOR unless `address` may change the stream's chat settings (its creator). */
  async maySetSettings(address: string, creator: string): Promise<void> {
    if (!sameAccount(address, creator)) {
      throw new SignalingError('NOT_CREATOR', "only the stream's creator can change its chat settings");
    }
  }
}
