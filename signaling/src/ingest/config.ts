import { z } from 'zod';
import { parseEnv } from '../env.ts';

const IngestEnv = z.object({
  /** Largest SDP offer a WHIP POST may carry (bytes); larger bodies are refused 413. */
  WHIP_OFFER_MAX_BYTES: z.coerce.number().int().min(1_024).max(1_048_576).default(32_768),
  /** A WHIP session whose ICE and DTLS are not connected this long after its POST is ended. */
  WHIP_CONNECT_TIMEOUT_SECONDS: z.coerce.number().min(1).max(300).default(20),
  /** Stream keys one creator may hold at once (not revoked); more are refused LIMIT_REACHED. */
  STREAM_KEYS_PER_CREATOR_MAX: z.coerce.number().int().min(1).max(1_000).default(20),
});

/** Ingest (stream keys, WHIP) configuration. */
export type IngestConfig = z.infer<typeof IngestEnv>;

/** Parses the ingest environment once; empty values count as unset. */
export function loadIngestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  return parseEnv(IngestEnv, env, 'ingest');
}
