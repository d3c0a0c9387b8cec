import type { SignalingIo } from '../RequestRouter.ts';
import { inChatSlices } from './chatFanOut.ts';
import type { ChatReaction, ChatReactionCounts } from './wire.ts';

/** The Socket.IO room of a stream's chat: readers join it, messages and reactions are emitted to it. */
export function chatRoom(streamId: string): string {
  return `chat:${streamId}`;
}

/**
 * Reactions pressed on this node, summed per stream and sent once a second to the stream's chat room as
 * `chat:reactions` (to the chat's parts in turn, see `inChatSlices`): fan-out is one event per stream, node and second
 * however many press. The timer runs only while
 * presses are waiting. `close()` (idempotent) stops it; presses waiting then are dropped.
 */
export class ReactionTally {
  readonly #pending = new Map<string, Map<ChatReaction, number>>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    private readonly io: SignalingIo,
    private readonly slices: number,
    private readonly onFlush: (counts: ChatReactionCounts) => void = () => undefined,
    private readonly periodMs = 1_000,
  ) {}

  /** Counts one press. */
  add(streamId: string, reaction: ChatReaction): void {
    if (this.#closed) return;
    let counts = this.#pending.get(streamId);
    if (!counts) {
      counts = new Map();
      this.#pending.set(streamId, counts);
    }
    counts.set(reaction, (counts.get(reaction) ?? 0) + 1);
    this.#timer ??= setInterval(() => this.flush(), this.periodMs);
  }

  /** Whether the timer is running (presses are waiting, or were in the last period). */
  get ticking(): boolean {
    return this.#timer !== undefined;
  }

  /** Sends what was pressed since the last flush; stops the timer when nothing was. */
  flush(): void {
    if (this.#pending.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    const at = Date.now();
    for (const [streamId, counts] of this.#pending) {
      const sent: ChatReactionCounts = { streamId, counts: Object.fromEntries(counts), at };
      void inChatSlices(streamId, this.slices, (part) => this.io.to(part).emit('chat:reactions', sent));
      this.onFlush(sent);
    }
    this.#pending.clear();
  }

  /** Stops the timer and drops waiting presses; safe to call twice. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
  }
}
