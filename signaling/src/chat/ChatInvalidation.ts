import type { Logger } from 'pino';
import { type ChatInvalidation, ChatInvalidation as InvalidationSchema } from '../protocol.ts';
import type { SignalingIo } from '../RequestRouter.ts';

/** How long a write waits for the other nodes to drop what they hold before it answers anyway. */
export const CHAT_INVALIDATION_TIMEOUT_MS = 2_000;

/**
 * Keeps the chat state nodes hold in memory (`ChatStateCache`) current across nodes: a write applies `drop` here and
 * sends `chat:invalidate` to the other nodes through the Socket.IO adapter (`serverSideEmitWithAck`, REDIS_URL), and
 * waits (up to CHAT_INVALIDATION_TIMEOUT_MS) until each dropped it, so a ban answered on one node is refused on every
 * node from then on. A node unreachable meanwhile is covered by the cache's TTL. Without several nodes (no Redis) it
 * only applies `drop` here. `close()` (idempotent) stops listening.
 */
export class ChatInvalidationBus {
  readonly #listener: (raw: unknown, ack?: (done: boolean) => void) => void;
  #closed = false;

  constructor(
    private readonly io: SignalingIo,
    private readonly multiNode: boolean,
    private readonly drop: (m: ChatInvalidation) => void,
    private readonly log: Logger,
  ) {
    this.#listener = (raw, ack) => {
      const parsed = InvalidationSchema.safeParse(raw);
      if (parsed.success) this.drop(parsed.data);
      else this.log.warn({ raw }, 'ignored a malformed chat:invalidate');
      if (typeof ack === 'function') ack(parsed.success);
    };
    if (multiNode) this.#on().on('chat:invalidate', this.#listener);
  }

  /** Drops the state here and on the other nodes (waiting for their acks, bounded). */
  async publish(m: ChatInvalidation): Promise<void> {
    this.drop(m);
    if (!this.multiNode || this.#closed) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), CHAT_INVALIDATION_TIMEOUT_MS);
    });
    try {
      const acks = await Promise.race([this.io.serverSideEmitWithAck('chat:invalidate', m), late]);
      // The adapter publishes a request with acks only to the nodes it heard of (none: nothing is sent); a node it has
      // not heard of yet gets the invalidation anyway.
      if (acks.length === 0)
        (this.io as unknown as { serverSideEmit(e: string, m: unknown): void }).serverSideEmit('chat:invalidate', m);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, ...m }, 'a node did not confirm a chat invalidation in time');
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops listening to other nodes; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.multiNode) this.#on().off('chat:invalidate', this.#listener);
  }

  /** The server-side events' emitter (the main namespace), untyped: its listeners take the ack last. */
  #on(): { on(e: string, f: unknown): unknown; off(e: string, f: unknown): unknown } {
    return this.io.of('/') as unknown as { on(e: string, f: unknown): unknown; off(e: string, f: unknown): unknown };
  }
}
