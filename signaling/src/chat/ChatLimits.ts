import type { DependencyAvailability } from '../dependencies/Availability.ts';
import { SignalingError } from '../errors.ts';
import type { RedisClient } from '../SignalingContext.ts';
import type { ChatConfig } from './config.ts';
import { MemoryWindowCounter, RedisWindowCounter, type WindowCounter } from './WindowCounter.ts';

function limited(message: string, retryAfterMs: number, reason: string): SignalingError {
  return new SignalingError('RATE_LIMITED', message, { retryAfterMs: String(retryAfterMs), reason });
}

/**
 * The chat's rate limits: requests per socket (this node), messages per wallet and slow mode per wallet and stream
 * (across nodes on the node's Redis when it has one), reaction presses per wallet (this node, no I/O: presses are
 * many). Each refusal is RATE_LIMITED with `retryAfterMs` and a `reason`.
 */
export class ChatLimits {
  readonly #local = new MemoryWindowCounter();
  readonly #shared: WindowCounter;
  #closed = false;

  constructor(
    private readonly config: ChatConfig,
    redis: RedisClient | undefined,
    /** Redis's state (refused at once while it is away). */
    availability?: DependencyAvailability,
  ) {
    this.#shared = redis ? new RedisWindowCounter(redis, config.CHAT_REDIS_PREFIX, availability) : this.#local;
  }

  /** Counts one chat request of a socket. */
  async request(socketId: string): Promise<void> {
    const { CHAT_SOCKET_RATE_LIMIT_MAX: max, CHAT_SOCKET_RATE_LIMIT_WINDOW_SECONDS: window } = this.config;
    const wait = this.#local.takeNow(`socket:${socketId}`, max, window * 1000);
    if (wait > 0) throw limited('too many chat requests on this connection; slow down', wait, 'socket');
  }

  /** Counts one message of a wallet (canonical address). */
  async message(wallet: string): Promise<void> {
    const { CHAT_MESSAGE_RATE_LIMIT_MAX: max, CHAT_MESSAGE_RATE_LIMIT_WINDOW_SECONDS: window } = this.config;
    const wait = await this.#shared.take(`msg:${wallet}`, max, window * 1000);
    if (wait > 0) throw limited('too many messages; wait a moment', wait, 'wallet');
  }

  /** Counts one tipped message of a wallet (a limit of their own: tips skip slow mode and the message limit). */
  async tip(wallet: string): Promise<void> {
    const { CHAT_TIP_RATE_LIMIT_MAX: max, CHAT_TIP_RATE_LIMIT_WINDOW_SECONDS: window } = this.config;
    const wait = await this.#shared.take(`tip:${wallet}`, max, window * 1000);
    if (wait > 0) throw limited('too many tips; wait a moment', wait, 'tips');
  }

  /** Opens a wallet's slow-mode interval in a stream, or refuses while the last one runs. */
  async slowMode(streamId: string, wallet: string, seconds: number): Promise<void> {
    if (seconds <= 0) return;
    const wait = await this.#shared.take(`slow:${streamId}:${wallet}`, 1, seconds * 1000);
    if (wait > 0) throw limited(`slow mode: one message every ${seconds} s`, wait, 'slow-mode');
  }

  /** Counts one reaction press of a wallet. */
  reaction(wallet: string): void {
    const wait = this.#local.takeNow(`react:${wallet}`, this.config.CHAT_REACTIONS_PER_SECOND, 1000);
    if (wait > 0) throw limited('too many reactions', wait, 'reactions');
  }

  /** Forgets the node's counters; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#local.close();
    this.#shared.close();
  }
}
