import type { Logger } from 'pino';
import { SignalingError } from '../errors.ts';
import type { SignalingIo } from '../RequestRouter.ts';
import type { ChatStore, NewChatMessage } from './ChatStore.ts';
import { CHAT_FANOUT_SLICES, inChatSlices } from './chatFanOut.ts';
import type { ChatMessage } from './wire.ts';

/** A stored message as the batcher answers it (`fresh` false: a retry of one stored before, not sent again). */
export interface Posted {
  message: ChatMessage;
  fresh: boolean;
}

/** How the batcher coalesces and bounds (docs/ARCHITECTURE.md "Chat", "The meter keeps priority"). */
export interface ChatBatcherOptions {
  /** Least time between two flushes of one room (ms): a quiet room's message goes at once, a busy room's wait. */
  windowMs: number;
  /** Messages admitted on this node and not yet stored, over all rooms, past which posts are refused. */
  maxQueued: number;
  /** Most messages one flush stores and sends. */
  maxBatch: number;
  /**
   * Parts of a room a flush sends to one at a time, a turn of the event loop apart (`chatSliceRoom`): the meter's
   * vouchers and timers run between the parts instead of waiting behind one write to every socket of the room.
   */
  slices: number;
}

/** Where one flush's time went (ms): for `onSent`, so the chat's metrics show what a message waits for. */
export interface FlushTiming {
  /** Per message sent, from its post to the flush that took it: the coalescing window (and any flush before). */
  waitMs: number[];
  /** The multi-row insert. */
  storeMs: number;
  /** From the first part's emit to the last part's: the fan-out, with the loop turns between the parts. */
  sendMs: number;
}

/** Most messages one flush stores and sends (one insert, one event). */
export const CHAT_BATCH_MAX = 250;

export const CHAT_BATCH_DEFAULTS: ChatBatcherOptions = Object.freeze({
  windowMs: 50,
  maxQueued: 1_000,
  maxBatch: CHAT_BATCH_MAX,
  slices: CHAT_FANOUT_SLICES,
});

interface Waiting {
  message: NewChatMessage;
  /** When it was posted (performance.now()). */
  at: number;
  resolve(p: Posted): void;
  reject(err: unknown): void;
}

interface RoomQueue {
  waiting: Waiting[];
  timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  flushing: boolean;
  lastFlushAt: number;
  /** Forgets the room once a window passed without messages (it would flush at once again anyway). */
  idle: NodeJS.Timeout | undefined;
}

/**
 * A room's new messages, coalesced: each flush stores the waiting messages with one multi-row insert, emits the new
 * ones to the room as one `chat:messages` (oldest first; on every node through the adapter, the senders too: clients
 * key by id; one part of the room a turn, see `chatSliceRoom`) and then answers each sender. A room flushes at once
 * (the next turn of the event loop) when its last flush was more than `windowMs` ago, else `windowMs` after it, and
 * never two flushes of a room at a time. At most
 * `maxQueued` messages wait on the node: past it a post is refused RATE_LIMITED (reason `overload`, retryable), so
 * chat never queues work without bound ahead of the payment meter's rounds. `close()` (idempotent) refuses what
 * still waits.
 */
export class ChatBatcher {
  readonly #rooms = new Map<string, RoomQueue>();
  #queued = 0;
  #nextSlice = 0;
  #closed = false;

  constructor(
    private readonly io: SignalingIo,
    private readonly store: ChatStore,
    private readonly log: Logger,
    private readonly options: ChatBatcherOptions = CHAT_BATCH_DEFAULTS,
    private readonly onSent: (count: number, timing: FlushTiming) => void = () => undefined,
  ) {}

  /** The part of the room a socket joining a chat on this node goes in (in turn). */
  nextSlice(): number {
    this.#nextSlice = (this.#nextSlice + 1) % this.options.slices;
    return this.#nextSlice;
  }

  /** Messages waiting to be stored on this node (all rooms). */
  get queued(): number {
    return this.#queued;
  }

  /** Throws RATE_LIMITED (reason `overload`) while the node's queue is full: before a post spends any limit. */
  refuseWhenFull(): void {
    if (this.#queued >= this.options.maxQueued) {
      throw new SignalingError('RATE_LIMITED', 'the chat is busy on this node; try again in a moment', {
        retryAfterMs: String(Math.max(100, this.options.windowMs * 5)),
        reason: 'overload',
      });
    }
  }

  /** Stores and sends a message with the room's next flush; answers it once stored (RATE_LIMITED when full). */
  post(message: NewChatMessage): Promise<Posted> {
    if (this.#closed) return Promise.reject(new SignalingError('INTERNAL', 'the node is shutting down'));
    try {
      this.refuseWhenFull();
    } catch (err) {
      return Promise.reject(err);
    }
    let room = this.#rooms.get(message.streamId);
    if (!room) {
      room = { waiting: [], timer: undefined, flushing: false, lastFlushAt: 0, idle: undefined };
      this.#rooms.set(message.streamId, room);
    }
    clearTimeout(room.idle);
    room.idle = undefined;
    this.#queued++;
    const posted = new Promise<Posted>((resolve, reject) => {
      (room as RoomQueue).waiting.push({ message, at: performance.now(), resolve, reject });
    });
    this.#schedule(message.streamId, room);
    return posted;
  }

  #schedule(streamId: string, room: RoomQueue): void {
    if (room.flushing || room.timer !== undefined || room.waiting.length === 0) return;
    const wait = room.lastFlushAt + this.options.windowMs - performance.now();
    // At once means after this turn's other requests were read: they go in the same batch.
    room.timer =
      wait <= 0
        ? setImmediate(() => void this.#flush(streamId, room))
        : setTimeout(() => void this.#flush(streamId, room), wait);
  }

  async #flush(streamId: string, room: RoomQueue): Promise<void> {
    room.timer = undefined;
    if (this.#closed) return;
    const batch = room.waiting.splice(0, this.options.maxBatch);
    if (batch.length === 0) return;
    room.flushing = true;
    const startedAt = performance.now();
    room.lastFlushAt = startedAt;
    try {
      const posted = await this.store.addMany(batch.map((w) => w.message));
      const storedAt = performance.now();
      const fresh = posted
        .filter((p) => p.fresh)
        .map((p) => p.message)
        .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
      if (fresh.length > 0) {
        const sent = { streamId, messages: fresh };
        const sendFrom = performance.now();
        await inChatSlices(streamId, this.options.slices, (part) => this.io.to(part).emit('chat:messages', sent));
        const waitMs = batch.filter((_, i) => posted[i]?.fresh).map((w) => startedAt - w.at);
        this.onSent(fresh.length, { waitMs, storeMs: storedAt - startedAt, sendMs: performance.now() - sendFrom });
      }
      for (const [i, w] of batch.entries()) w.resolve(posted[i] as Posted);
    } catch (err) {
      this.log.error({ err, streamId, messages: batch.length }, 'chat messages could not be stored');
      const refusal = new SignalingError('INTERNAL', 'the message could not be stored; try again');
      for (const w of batch) w.reject(refusal);
    } finally {
      this.#queued = Math.max(0, this.#queued - batch.length);
      room.flushing = false;
      if (room.waiting.length > 0) this.#schedule(streamId, room);
      else if (!this.#closed) {
        room.idle = setTimeout(() => {
          if (room.waiting.length === 0 && !room.flushing && this.#rooms.get(streamId) === room) {
            this.#rooms.delete(streamId);
          }
        }, this.options.windowMs);
      }
    }
  }

  /** Stops flushing and refuses the messages still waiting (a flush under way finishes); safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const refusal = new SignalingError('INTERNAL', 'the node is shutting down');
    for (const room of this.#rooms.values()) {
      clearTimeout(room.idle);
      if (room.timer !== undefined) {
        clearTimeout(room.timer as NodeJS.Timeout);
        clearImmediate(room.timer as NodeJS.Immediate);
      }
      for (const w of room.waiting.splice(0)) w.reject(refusal);
    }
    this.#rooms.clear();
    this.#queued = 0;
  }
}
