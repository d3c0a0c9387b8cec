import { z } from 'zod';
import { parseEnv } from '../env.ts';

const IngestEnv = z.object({
  /** Largest SDP offer a WHIP POST may carry (bytes); larger bodies are refused 413. */
  WHIP_OFFER_MAX_BYTES: z.coerce.number().int().min(1_024).max(1_048_576).default(32_768),
  /** A WHIP session whose ICE and DTLS are not connected this long after its POST is ended. */
  WHIP_CONNECT_TIMEOUT_SECONDS: z.coerce.number().min(1).max(300).default(20),
  /** Stream keys one creator may hold at once (not revoked); more are refused LIMIT_REACHED. */
  /** RTMP ingest's TCP port (`rtmp://host:port/live`, the stream key as stream name); 0 or unset: no RTMP server. */
  RTMP_PORT: z.coerce.number().int().min(0).max(65_535).default(0),
  /** Address the RTMP server listens on. */
  RTMP_HOST: z.string().min(1).default('127.0.0.1'),
  /** RTMP connections at once (publishing or not); more are closed at once. */
  RTMP_CONNECTIONS_MAX: z.coerce.number().int().min(1).max(10_000).default(50),
  /** An RTMP connection silent this long (or not publishing this long after it opened) is closed. */
  RTMP_IDLE_TIMEOUT_SECONDS: z.coerce.number().min(1).max(600).default(15),
  /**
   * Pass pushed H.264 in a profile the router offers (constrained baseline, main) through untouched instead of
   * transcoding it to VP8: far less CPU, but viewers whose WebRTC stack has no H.264 decoder get no video.
   */
  RTMP_H264_PASSTHROUGH: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  STREAM_KEYS_PER_CREATOR_MAX: z.coerce.number().int().min(1).max(1_000).default(20),
});

/** Ingest (stream keys, WHIP, RTMP) configuration. */
export type IngestConfig = z.infer<typeof IngestEnv>;

/** Parses the ingest environment once; empty values count as unset. */
export function loadIngestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  return parseEnv(IngestEnv, env, 'ingest');
}
