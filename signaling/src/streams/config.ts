import { z } from 'zod';
import { parseEnv } from '../env.ts';

const StreamsEnv = z.object({
  /** A created stream whose announcement is not seen on chain within this time is forgotten. */
  STREAM_PENDING_TTL_SECONDS: z.coerce.number().int().min(60).default(3_600),
  /** How long an ended stream stays readable at `GET /v1/streams/:id`. */
  STREAM_ENDED_TTL_SECONDS: z.coerce.number().int().min(60).default(86_400),
  /**
   * How long a live stream waits for its creator after the creator's connection (or the node hosting the stream) went
   * away: viewers get no media and pay nothing meanwhile; the creator may go live again; then the stream ends.
   */
  STREAM_CREATOR_GRACE_SECONDS: z.coerce.number().int().min(1).max(3_600).default(30),
  /** A node's heartbeat in the shared directory expires after this; its live streams are then hidden (Redis only). */
  STREAMS_NODE_TTL_SECONDS: z.coerce.number().int().min(1).max(600).default(15),
  /**
   * Streams one wallet may create per window (each creation pins a document to IPFS); counted across the nodes when
   * REDIS_URL is set. Requests refused for their body do not count.
   */
  STREAM_CREATE_RATE_LIMIT_MAX: z.coerce.number().int().min(1).default(10),
  STREAM_CREATE_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  /** Prefix of the Redis keys of the shared directory (when REDIS_URL is set). */
  STREAMS_REDIS_PREFIX: z.string().min(1).default('persecond:streams:'),
});

/** Stream lifecycle configuration. */
export type StreamsConfig = z.infer<typeof StreamsEnv>;

/** Parses the streams environment once; empty values count as unset. */
export function loadStreamsConfig(env: NodeJS.ProcessEnv = process.env): StreamsConfig {
  return parseEnv(StreamsEnv, env, 'streams');
}
