// Chat test support: a live-stream node with the chat module, readers that record what the chat sends them, and
// anonymous sockets (reading needs no sign-in).
import { io as connectSocket, type Socket } from 'socket.io-client';
import { type ChatModule, chatModule } from '../../src/chat/ChatModule.ts';
import { loadChatConfig } from '../../src/chat/config.ts';
import type { ChatMessage, ChatMessageBatch, ChatReactionCounts, ChatSettings } from '../../src/protocol.ts';
import { type LiveStream, type LiveStreamOptions, startLiveStream } from '../support/liveStream.ts';
import { type AckJson, call } from '../viewers-support.ts';

/** The live-stream fixture with the chat module (`chatEnv` over the chat's defaults). */
export async function startChatStream(
  opts: LiveStreamOptions & { chatEnv?: Record<string, string> } = {},
): Promise<LiveStream> {
  const { chatEnv, ...live } = opts;
  return startLiveStream({ ...live, extraModules: [chatModule(loadChatConfig(chatEnv ?? {}))] });
}

/** The chat module of a node's modules. */
export function chatOf(modules: ReadonlyMap<string, unknown>): ChatModule {
  return modules.get('chat') as ChatModule;
}

/** A socket of the fixture's node without sign-in, closed with the fixture. */
export async function anonymousOn(live: LiveStream): Promise<Socket> {
  const socket = await anonymousSocket(live.server.url);
  // The fixture closes the sockets of its list; it hands the list out read-only for its own sockets.
  (live.sockets as Socket[]).push(socket);
  return socket;
}

/** A socket without sign-in (no reconnection), connected. */
export async function anonymousSocket(url: string): Promise<Socket> {
  const socket = connectSocket(url, { transports: ['websocket'], reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

/** A socket in a stream's chat, recording what the chat sends it. */
export class Reader {
  /** Messages received (`chat:messages` batches in order, and tipped ones as `chat:message`), in arrival order. */
  readonly messages: ChatMessage[] = [];
  /** The `chat:messages` batches received. */
  readonly batches: ChatMessageBatch[] = [];
  readonly reactions: (ChatReactionCounts & { receivedAt: number })[] = [];
  readonly settings: ({ streamId: string } & ChatSettings)[] = [];
  readonly deleted: { streamId: string; messageId: string; by: string }[] = [];

  constructor(readonly socket: Socket) {
    socket.on('chat:message', (m: ChatMessage) => this.messages.push(m));
    socket.on('chat:messages', (b: ChatMessageBatch) => {
      this.batches.push(b);
      this.messages.push(...b.messages);
    });
    socket.on('chat:reactions', (r: ChatReactionCounts) => this.reactions.push({ ...r, receivedAt: Date.now() }));
    socket.on('chat:settings', (s: { streamId: string } & ChatSettings) => this.settings.push(s));
    socket.on('chat:deleted', (d: { streamId: string; messageId: string; by: string }) => this.deleted.push(d));
  }

  /** Joins the stream's chat; resolves with the ack, failing unless it is ok. */
  async join(streamId: string): Promise<AckJson & { messages: ChatMessage[]; settings: ChatSettings }> {
    const res = await call(this.socket, 'chat:join', { streamId });
    if (!res.ok) throw new Error(`chat:join refused: ${res.code} ${res.message}`);
    return res as AckJson & { messages: ChatMessage[]; settings: ChatSettings };
  }

  /** Sends a message; resolves with the ack (ok or not). */
  send(streamId: string, text: string, extra: Record<string, unknown> = {}): Promise<AckJson> {
    return call(this.socket, 'chat:send', { streamId, text, ...extra });
  }

  /** Sends a message, failing unless it is stored; resolves with the stored message. */
  async say(streamId: string, text: string, extra: Record<string, unknown> = {}): Promise<ChatMessage> {
    const res = await this.send(streamId, text, extra);
    if (!res.ok) throw new Error(`chat:send refused: ${res.code} ${res.message}`);
    return res.message as unknown as ChatMessage;
  }

  /** The messages received with these ids, in arrival order. */
  received(ids: readonly string[]): ChatMessage[] {
    return this.messages.filter((m) => ids.includes(m.id));
  }
}

/** Sleeps `ms` (a wait the server told, e.g. `retryAfterMs`). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
