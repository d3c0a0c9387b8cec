import { protocolAddress, sameAccount } from '../accounts.ts';
import { SignalingError } from '../errors.ts';
import type { ModerationView } from './ChatStateCache.ts';
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
  /** Skips the stream's slow mode (the creator and its moderators; tipped messages skip it in `chat:tip`). */
  slowModeExempt: boolean;
  /** Skips the wallet's message rate limit (the creator and its moderators). */
  rateLimitExempt: boolean;
}

/** A wallet's part in a creator's chats. */
export type ChatRole = 'creator' | 'moderator' | 'viewer';

/** Addresses already put in the protocol's format (a decode and an encode each: hashed checksums, on every post). */
const canonicalMemo = new Map<string, string>();
const CANONICAL_MEMO_MAX = 50_000;

/** An address in the protocol's format (what the moderation tables hold). */
export function canonical(address: string): string {
  const known = canonicalMemo.get(address);
  if (known) return known;
  const a = protocolAddress(address);
  if (!a) throw new SignalingError('BAD_REQUEST', 'not an account address');
  if (canonicalMemo.size >= CANONICAL_MEMO_MAX) canonicalMemo.clear();
  canonicalMemo.set(address, a);
  return a;
}

/**
 * Decides whether a wallet may post in a stream's chat and with which badges, and who may moderate it: the creator,
 * and the moderators it named; bans and timeouts (per creator, in the database, read through the node's memory of
 * them: `ChatStateCache`) refuse posting.
 */
export class ChatPolicy {
  constructor(private readonly moderation: ModerationView) {}

  /** The wallet's part in the creator's chats. */
  async role(address: string, creator: string): Promise<ChatRole> {
    if (sameAccount(address, creator)) return 'creator';
    return (await this.moderation.isModerator(canonical(creator), canonical(address))) ? 'moderator' : 'viewer';
  }

  /** The poster's grant, or a refusal (CHAT_BANNED, CHAT_TIMED_OUT, CHAT_PAYING_ONLY). */
  async admit(poster: Poster, settings: ChatSettings): Promise<PostGrant> {
    const creator = canonical(poster.creator);
    const wallet = canonical(poster.address);
    if (wallet === creator) {
      return {
        badges: poster.paying ? ['creator', 'paying'] : ['creator'],
        slowModeExempt: true,
        rateLimitExempt: true,
      };
    }
    const [moderator, ban] = await Promise.all([
      this.moderation.isModerator(creator, wallet),
      this.moderation.ban(creator, wallet),
    ]);
    const now = Date.now();
    if (ban && ban.until === null) {
      throw new SignalingError('CHAT_BANNED', 'you are banned from this creator’s chat');
    }
    if (ban?.until != null && ban.until > now) {
      throw new SignalingError('CHAT_TIMED_OUT', 'you are timed out in this creator’s chat', {
        until: String(ban.until),
        retryAfterMs: String(ban.until - now),
      });
    }
    const badges: ChatBadge[] = [];
    if (moderator) badges.push('moderator');
    if (poster.paying) badges.push('paying');
    if (settings.payingOnly && !moderator && !poster.paying) {
      throw new SignalingError('CHAT_PAYING_ONLY', 'this chat is for paying viewers only: watch the stream to post');
    }
    return { badges, slowModeExempt: moderator, rateLimitExempt: moderator };
  }

  /** Refuses NOT_CREATOR unless `address` may change the stream's chat settings (its creator or a moderator). */
  async maySetSettings(address: string, creator: string): Promise<void> {
    if ((await this.role(address, creator)) === 'viewer') {
      throw new SignalingError(
        'NOT_CREATOR',
        "only the stream's creator or its moderators can change its chat settings",
      );
    }
  }

  /** The actor's role, refusing NOT_MODERATOR unless it is the creator or a moderator. */
  async requireModerator(address: string, creator: string): Promise<'creator' | 'moderator'> {
    const role = await this.role(address, creator);
    if (role === 'viewer') {
      throw new SignalingError('NOT_MODERATOR', "only the stream's creator or its moderators can moderate its chat");
    }
    return role;
  }

  /** Refuses unless `actor` (of `role`) may ban or time out `target`: never the creator, a moderator only by the creator. */
  async mayAct(role: 'creator' | 'moderator', target: string, creator: string): Promise<void> {
    const targetRole = await this.role(target, creator);
    if (targetRole === 'creator') {
      throw new SignalingError('BAD_REQUEST', 'the creator cannot be banned or timed out in its own chat');
    }
    if (targetRole === 'moderator') {
      if (role !== 'creator') throw new SignalingError('NOT_CREATOR', 'only the creator can act on a moderator');
      throw new SignalingError('BAD_REQUEST', 'remove the wallet from the moderators first');
    }
  }
}
