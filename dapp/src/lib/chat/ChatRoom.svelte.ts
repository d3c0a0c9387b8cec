// One stream's chat as the page shows it: joins on open (and again after each reconnect, merging what it missed),
// keeps the messages by id, pages back on request, sends, reacts and changes the creator's settings. Its own socket,
// opened as the page is signed in (or not: reading needs no sign-in).
import type {
  ChatJoinRole,
  ChatMessage,
  ChatReaction,
  ChatSettings,
  ServerToClientEvents,
} from '@persecond/signaling/protocol';
import { CHAT_PAGE_MAX, CHAT_REACTIONS } from '@persecond/signaling/protocol';
import { explain } from '../errors.ts';
import { openSignalingSocket, request, type SignalingSocket } from '../signaling/socket.ts';
import { FLOAT_MS, type Float, floatsFor } from './floats.ts';
import { afterJoin, mergeMessages, withoutMessage, withTipUpdate } from './messages.ts';
import { chatErrorSentence } from './sendErrors.ts';

/** Where the room's connection stands. */
export type ChatStatus = 'connecting' | 'joined' | 'reconnecting' | 'failed' | 'closed';

/** How a room opens its socket (the page's signed-in token, if any). */
export type OpenSocket = () => Promise<SignalingSocket>;

/** A stream's live chat, reactive for the panel. */
export class ChatRoom {
  /** Messages held, oldest first, one per id. */
  messages = $state<ChatMessage[]>([]);
  /** The chat's rules (slow mode, paying-only), as the server last said. */
  settings = $state<ChatSettings>({ slowModeSeconds: 0, payingOnly: false });
  /** Whether the signed-in account moderates this chat (its creator or a moderator), as the last join answered. */
  role = $state<ChatJoinRole>(null);
  /** The reactions the server takes. */
  reactions = $state<readonly ChatReaction[]>(CHAT_REACTIONS);
  /** Presses of each reaction heard since the room opened (everyone's, the server's sums). */
  reactionTotals = $state<Partial<Record<ChatReaction, number>>>({});
  /** Emoji floating now (bounded, see floats.ts). */
  floats = $state<Float[]>([]);
  /** Older messages remain on the server. */
  more = $state(false);
  loadingOlder = $state(false);
  status = $state<ChatStatus>('connecting');
  /** Why the chat cannot be read (the join was refused), as a sentence. */
  problem = $state<string | undefined>();
  /** Why the last message, press or setting was refused, as a sentence. */
  sendError = $state<string | undefined>();
  sending = $state(false);

  #socket: SignalingSocket | undefined;
  #unbind: (() => void)[] = [];
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #floatKey = 0;
  #closed = false;

  constructor(
    /** The stream whose chat this is. */
    readonly streamId: string,
    private readonly openSocket: OpenSocket = () => openSignalingSocket(),
  ) {}

  /** The room's socket, once opened. */
  get socket(): SignalingSocket | undefined {
    return this.#socket;
  }

  /** Opens the socket and joins; joins again whenever the socket reconnects. */
  async open(): Promise<void> {
    let socket: SignalingSocket;
    try {
      socket = await this.openSocket();
    } catch (err) {
      this.status = 'failed';
      this.problem = explain(err);
      return;
    }
    if (this.#closed) {
      socket.close();
      return;
    }
    this.#socket = socket;
    this.#bind(socket);
    if (socket.connected) void this.#join();
  }

  /** Sends `text` (with the sender's player position, if any); resolves true once the server stored it. */
  async send(text: string, mediaTime?: number): Promise<boolean> {
    const socket = this.#socket;
    if (!socket || this.sending) return false;
    this.sending = true;
    this.sendError = undefined;
    try {
      const clientId = crypto.randomUUID().replaceAll('-', '');
      const media = mediaTime !== undefined && Number.isFinite(mediaTime) && mediaTime >= 0 ? { mediaTime } : {};
      const { message } = await request(socket, 'chat:send', { streamId: this.streamId, text, clientId, ...media });
      this.messages = mergeMessages(this.messages, [message]);
      return true;
    } catch (err) {
      this.sendError = chatErrorSentence(err);
      return false;
    } finally {
      this.sending = false;
    }
  }

  /** Presses a reaction (shown to everyone with the next second's sums). */
  async react(reaction: ChatReaction): Promise<void> {
    if (!this.#socket) return;
    try {
      await request(this.#socket, 'chat:react', { streamId: this.streamId, reaction });
    } catch (err) {
      this.sendError = chatErrorSentence(err);
    }
  }

  /** Changes the chat's rules (the creator only); resolves true once stored. */
  async changeSettings(next: ChatSettings): Promise<boolean> {
    if (!this.#socket) return false;
    this.sendError = undefined;
    try {
      const { settings } = await request(this.#socket, 'chat:settings', { streamId: this.streamId, ...next });
      this.settings = settings;
      return true;
    } catch (err) {
      this.sendError = chatErrorSentence(err);
      return false;
    }
  }

  /** Loads the page of messages before the oldest held, when older ones remain. */
  async loadOlder(): Promise<void> {
    const socket = this.#socket;
    const oldest = this.messages[0];
    if (!socket || !oldest || !this.more || this.loadingOlder) return;
    this.loadingOlder = true;
    try {
      const page = await request(socket, 'chat:history', { streamId: this.streamId, before: oldest.id });
      this.messages = mergeMessages(this.messages, page.messages);
      this.more = page.more;
    } catch (err) {
      this.sendError = chatErrorSentence(err);
    } finally {
      this.loadingOlder = false;
    }
  }

  /** Leaves the chat and closes the socket; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.status = 'closed';
    for (const off of this.#unbind.splice(0)) off();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const socket = this.#socket;
    if (socket?.connected) socket.emit('chat:leave', { streamId: this.streamId }, () => undefined);
    socket?.close();
  }

  async #join(): Promise<void> {
    const socket = this.#socket;
    if (!socket || this.#closed) return;
    try {
      const joined = await request(socket, 'chat:join', { streamId: this.streamId });
      if (this.#closed) return;
      const { messages, gap } = afterJoin(this.messages, joined.messages);
      this.messages = messages;
      if (gap || this.messages.length === joined.messages.length) this.more = joined.messages.length >= CHAT_PAGE_MAX;
      this.settings = joined.settings;
      this.reactions = joined.reactions;
      this.role = joined.role;
      this.problem = undefined;
      this.status = 'joined';
    } catch (err) {
      if (this.#closed) return;
      this.status = 'failed';
      this.problem = explain(err);
    }
  }

  #bind(socket: SignalingSocket): void {
    const on = <E extends keyof ServerToClientEvents>(event: E, fn: ServerToClientEvents[E]): void => {
      // Socket.IO's typed `on` cannot follow a generic event name, hence the widening.
      const s = socket as unknown as { on(e: string, f: unknown): void; off(e: string, f: unknown): void };
      s.on(event, fn);
      this.#unbind.push(() => s.off(event, fn));
    };
    const mine = (p: { streamId: string }) => p.streamId === this.streamId;
    // Tipped messages (once in a block) one by one; the others in batches, oldest first, the sender's own included.
    on('chat:message', (m) => {
      if (mine(m)) this.messages = mergeMessages(this.messages, [m]);
    });
    on('chat:messages', (p) => {
      if (mine(p) && p.messages.length > 0) this.messages = mergeMessages(this.messages, p.messages);
    });
    on('chat:deleted', (p) => {
      if (mine(p)) this.messages = withoutMessage(this.messages, p.messageId);
    });
    on('chat:tip', (p) => {
      if (mine(p)) this.messages = withTipUpdate(this.messages, p);
    });
    on('chat:settings', (p) => {
      if (mine(p)) this.settings = { slowModeSeconds: p.slowModeSeconds, payingOnly: p.payingOnly };
    });
    on('chat:reactions', (p) => {
      if (mine(p)) this.#onReactions(p.counts);
    });
    const connected = () => void this.#join();
    const dropped = () => {
      if (!this.#closed) this.status = 'reconnecting';
    };
    // `connect` fires on the first connection and after every reconnection (a new socket id, out of the room).
    socket.on('connect', connected);
    socket.on('disconnect', dropped);
    this.#unbind.push(
      () => socket.off('connect', connected),
      () => socket.off('disconnect', dropped),
    );
  }

  #onReactions(counts: Partial<Record<ChatReaction, number>>): void {
    const totals = { ...this.reactionTotals };
    for (const [r, n] of Object.entries(counts) as [ChatReaction, number][]) totals[r] = (totals[r] ?? 0) + n;
    this.reactionTotals = totals;
    const added = floatsFor(counts, this.floats.length, this.#floatKey);
    if (added.length === 0) return;
    this.#floatKey += added.length;
    this.floats = [...this.floats, ...added];
    const keys = new Set(added.map((f) => f.key));
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.floats = this.floats.filter((f) => !keys.has(f.key));
    }, FLOAT_MS);
    this.#timers.add(timer);
  }
}
