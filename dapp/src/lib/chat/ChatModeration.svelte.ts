// What a signed-in page may do to moderate a stream's chat, over its ChatRoom's socket: learn whether it moderates (the
// join answers it; see moderationRole.ts), delete messages, time wallets out, ban and unban them, name moderators and
// read their list (the creator) and the moderation log. Each action's result or refusal is one sentence.
import type { ChatJoinRole, ChatMessage, ChatModAction } from '@persecond/signaling/protocol';
import { CHAT_MODLOG_PAGE_MAX } from '@persecond/signaling/protocol';
import { UserFacingError } from '../errors.ts';
import { request } from '../signaling/socket.ts';
import type { ChatRoom } from './ChatRoom.svelte.ts';
import { shortAddress } from './messages.ts';
import { badgedToAsk, type ModRole, roleFromList } from './moderationRole.ts';
import { chatErrorSentence } from './sendErrors.ts';

/** Minutes a wallet may be timed out for (the server's CHAT_TIMEOUT_MINUTES). */
export type TimeoutMinutes = 1 | 5 | 10 | 60;

/** An action's outcome as the panel shows it. */
export interface ModOutcome {
  ok: boolean;
  text: string;
}

/** The chat's moderation for one signed-in account, reactive for the panel. */
export class ChatModeration {
  /** As the last join answered, or a moderator list answered since; undefined: this account does not moderate. */
  role = $state<ModRole | undefined>();
  /** The creator's moderators (the protocol's address format), as last answered (read only when shown). */
  moderators = $state<string[]>([]);
  /** The moderation log, newest first, as far as loaded. */
  log = $state<ChatModAction[]>([]);
  /** Older log entries remain on the server. */
  logMore = $state(false);
  /** The last action's result or refusal. */
  outcome = $state<ModOutcome | undefined>();
  busy = $state(false);

  /** Newest own message id that made the page ask whether it moderates (its moderator badge). */
  #askedFor = '';
  /** The moderator list is shown: read again after each join. */
  #listShown = false;
  /** The log is shown (loaded once): each action reloads it. */
  #logShown = false;
  #closed = false;

  constructor(
    private readonly room: ChatRoom,
    /** The signed-in account. */
    readonly account: string,
  ) {}

  /** Takes the role a join answered; the creator reads the moderator list again when it is shown. */
  joined(role: ChatJoinRole): void {
    if (this.#closed) return;
    this.role = role ?? undefined;
    if (role === 'creator' && this.#listShown) void this.refresh();
  }

  /** Reads the moderator list for the page that shows it (the creator's editor), and again after each join. */
  showModerators(): Promise<void> {
    this.#listShown = true;
    return this.refresh();
  }

  /** Asks the server for the moderator list: answered, the page moderates (as creator unless it is on the list). */
  async refresh(): Promise<void> {
    const socket = this.room.socket;
    if (!socket || this.#closed) return;
    try {
      const { moderators } = await request(socket, 'chat:moderators', { streamId: this.room.streamId });
      if (this.#closed) return;
      this.moderators = moderators;
      this.role = roleFromList(moderators, this.account);
    } catch (err) {
      if (err instanceof UserFacingError && (err.code === 'NOT_MODERATOR' || err.code === 'NOT_CREATOR')) {
        this.role = undefined;
      }
    }
  }

  /** Asks again when one of the account's own messages carries the moderator badge the page does not know of. */
  notice(messages: readonly ChatMessage[]): void {
    const badged = badgedToAsk(messages, this.account, this.role, this.#askedFor);
    if (!badged) return;
    this.#askedFor = badged.id;
    void this.refresh();
  }

  /** Deletes `message` for everyone (the room's `chat:deleted` removes it from the list). */
  delete(message: ChatMessage): Promise<boolean> {
    return this.#act(async (socket) => {
      await request(socket, 'chat:delete', { streamId: this.room.streamId, messageId: message.id });
      return `Deleted the message from ${shortAddress(message.sender)}.`;
    });
  }

  /** Times `wallet` out of the creator's chats for `minutes`. */
  timeout(wallet: string, minutes: TimeoutMinutes): Promise<boolean> {
    return this.#act(async (socket) => {
      const { until } = await request(socket, 'chat:timeout', { streamId: this.room.streamId, wallet, minutes });
      return `${shortAddress(wallet)} is timed out for ${minutes} min (until ${clock(until)}).`;
    });
  }

  /** Bans `wallet` from the creator's chats; `removeFromStream` ends its viewer sessions of this stream too. */
  ban(wallet: string, removeFromStream: boolean): Promise<boolean> {
    return this.#act(async (socket) => {
      const { removed } = await request(socket, 'chat:ban', { streamId: this.room.streamId, wallet, removeFromStream });
      const gone = removeFromStream ? ` Sessions ended: ${removed}.` : '';
      return `${shortAddress(wallet)} is banned from this creator’s chat.${gone}`;
    });
  }

  /** Lifts `wallet`'s ban or timeout. */
  unban(wallet: string): Promise<boolean> {
    return this.#act(async (socket) => {
      const { lifted } = await request(socket, 'chat:unban', { streamId: this.room.streamId, wallet });
      return lifted
        ? `${shortAddress(wallet)} may chat again.`
        : `${shortAddress(wallet)} was neither banned nor timed out.`;
    });
  }

  /** Names (`add`) or removes moderators of all the creator's streams (the creator only). */
  changeModerators(change: { add?: string[]; remove?: string[] }): Promise<boolean> {
    return this.#act(async (socket) => {
      const { moderators } = await request(socket, 'chat:moderators', { streamId: this.room.streamId, ...change });
      this.moderators = moderators;
      return change.add?.length ? 'Moderator added.' : 'Moderator removed.';
    });
  }

  /** Loads the newest page of the log (dropping older pages held), or (`older`) the page after the last entry held. */
  async loadLog(older = false): Promise<void> {
    const socket = this.room.socket;
    const last = this.log.at(-1);
    if (!socket || this.#closed || (older && !last)) return;
    this.#logShown = true;
    try {
      const page = await request(socket, 'chat:modlog', {
        streamId: this.room.streamId,
        limit: CHAT_MODLOG_PAGE_MAX,
        ...(older && last ? { before: last.id } : {}),
      });
      if (this.#closed) return;
      this.log = older
        ? [...this.log, ...page.actions.filter((a) => !this.log.some((b) => b.id === a.id))]
        : page.actions;
      this.logMore = page.more;
    } catch (err) {
      this.outcome = { ok: false, text: chatErrorSentence(err) };
    }
  }

  /** Stops answering into this object (its room closed). */
  close(): void {
    this.#closed = true;
  }

  async #act(run: (socket: NonNullable<ChatRoom['socket']>) => Promise<string>): Promise<boolean> {
    const socket = this.room.socket;
    if (!socket || this.busy) return false;
    this.busy = true;
    this.outcome = undefined;
    try {
      const text = await run(socket);
      this.outcome = { ok: true, text };
      if (this.#logShown) void this.loadLog();
      return true;
    } catch (err) {
      // The creator removed this account from the moderators meanwhile: the menu goes.
      if (err instanceof UserFacingError && err.code === 'NOT_MODERATOR') this.role = undefined;
      this.outcome = { ok: false, text: chatErrorSentence(err) };
      return false;
    } finally {
      this.busy = false;
    }
  }
}

function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}
