import type { ChatStore } from './ChatStore.ts';
import { KeyedCache } from './KeyedCache.ts';
import type { ChatBan, ModerationStore } from './ModerationStore.ts';
import type { ChatSettings } from './wire.ts';

/** What `ChatPolicy` reads of a creator's moderation: whether a wallet moderates, its ban or timeout. */
export interface ModerationView {
  isModerator(creator: string, wallet: string): Promise<boolean>;
  ban(creator: string, wallet: string): Promise<ChatBan | undefined>;
}

/** A creator's moderators and bans (timeouts included), as loaded. */
interface CreatorModeration {
  moderators: ReadonlySet<string>;
  bans: ReadonlyMap<string, ChatBan>;
}

/** How long a held value may be used without an invalidation before it is loaded again (a lost one's bound). */
export const CHAT_CACHE_TTL_MS = 60_000;

/**
 * The chat's hot-path state in memory (docs/ARCHITECTURE.md "Chat"): each creator's moderators and bans, loaded once
 * (two queries) and each stream's settings (one), so `chat:send` reads no database for an ordinary poster. A write
 * (this node's or, through `ChatInvalidation`, another node's) invalidates the key; the next post loads it again.
 * Addresses in the protocol's SS58 format, as the moderation tables hold them.
 */
export class ChatStateCache implements ModerationView {
  readonly #creators: KeyedCache<string, CreatorModeration>;
  readonly #settings: KeyedCache<string, ChatSettings>;

  constructor(moderation: ModerationStore, store: ChatStore, ttlMs = CHAT_CACHE_TTL_MS) {
    this.#creators = new KeyedCache(async (creator) => {
      const [moderators, bans] = await Promise.all([moderation.moderators(creator), moderation.bans(creator)]);
      return { moderators: new Set(moderators), bans };
    }, ttlMs);
    this.#settings = new KeyedCache((streamId) => store.settings(streamId), ttlMs);
  }

  async isModerator(creator: string, wallet: string): Promise<boolean> {
    return (await this.#creators.get(creator)).moderators.has(wallet);
  }

  async ban(creator: string, wallet: string): Promise<ChatBan | undefined> {
    return (await this.#creators.get(creator)).bans.get(wallet);
  }

  /** A stream's chat settings. */
  settings(streamId: string): Promise<ChatSettings> {
    return this.#settings.get(streamId);
  }

  /** The creator's moderators or bans changed. */
  invalidateCreator(creator: string): void {
    this.#creators.invalidate(creator);
  }

  /** The stream's settings changed. */
  invalidateSettings(streamId: string): void {
    this.#settings.invalidate(streamId);
  }

  /** Drops everything held. */
  clear(): void {
    this.#creators.clear();
    this.#settings.clear();
  }
}
