import { U128_MAX } from '@persecond/contracts-client';
import { z } from 'zod';
import { parseEnv } from '../env.ts';

const ChatEnv = z.object({
  /** Messages one wallet may post per window, over every stream (and every node when REDIS_URL is set). */
  CHAT_MESSAGE_RATE_LIMIT_MAX: z.coerce.number().int().min(1).default(5),
  CHAT_MESSAGE_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3_600).default(10),
  /** Chat requests (join, history, send, react, settings) one socket may make per window, signed in or not. */
  CHAT_SOCKET_RATE_LIMIT_MAX: z.coerce.number().int().min(1).default(40),
  CHAT_SOCKET_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3_600).default(10),
  /** Reaction presses one wallet may make per second on a node; more are refused RATE_LIMITED. */
  CHAT_REACTIONS_PER_SECOND: z.coerce.number().int().min(1).max(1_000).default(10),
  /** Chats one socket may have joined at once. */
  CHAT_ROOMS_PER_SOCKET: z.coerce.number().int().min(1).max(100).default(4),
  /** Largest tip a message may declare (planck, decimal); default the u128 bound. Larger: AMOUNT_OUT_OF_RANGE. */
  CHAT_TIP_MAX: z
    .string()
    .regex(/^[1-9][0-9]{0,38}$/, 'a positive decimal planck amount')
    .transform(BigInt)
    .refine((v) => v <= U128_MAX, 'at most u128')
    .default(U128_MAX),
  /** Tipped messages one wallet may declare per window (they skip slow mode and the message limit). */
  CHAT_TIP_RATE_LIMIT_MAX: z.coerce.number().int().min(1).default(10),
  CHAT_TIP_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3_600).default(60),
  /**
   * Least time between two sends of a room's new messages (ms): a quiet room's message is stored and sent at once,
   * a busy room's are stored with one insert and sent as one `chat:messages` per window.
   */
  CHAT_BATCH_WINDOW_MS: z.coerce.number().int().min(0).max(1_000).default(50),
  /**
   * Messages admitted on a node and not yet stored, past which `chat:send` is refused RATE_LIMITED (reason
   * `overload`): chat never queues without bound ahead of the payment meter.
   */
  CHAT_QUEUE_MAX: z.coerce.number().int().min(1).max(100_000).default(1_000),
  /** Prefix of the Redis keys of the shared limits (when REDIS_URL is set). */
  CHAT_REDIS_PREFIX: z.string().min(1).default('persecond:chat:'),
});

/** Chat limits, parsed once from the environment. */
export type ChatConfig = z.infer<typeof ChatEnv>;

/** Parses the chat environment; empty values count as unset. */
export function loadChatConfig(env: NodeJS.ProcessEnv = process.env): ChatConfig {
  return parseEnv(ChatEnv, env, 'chat');
}
