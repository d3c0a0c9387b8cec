import { z } from 'zod';
import { parseEnv } from '../env.ts';

const PublishingEnv = z.object({
  /**
   * Producers each publisher of a stream may have at once (the host with all its connections and ingests, each co-host
   * and guest on stage); more are refused LIMIT_REACHED.
   */
  PRODUCERS_PER_STREAM_MAX: z.coerce.number().int().min(1).max(64).default(4),
});

/** The creator's side of WebRTC: limits on what one stream may publish. */
export type PublishingConfig = z.infer<typeof PublishingEnv>;

/** Parses the publishing environment once; empty values count as unset. */
export function loadPublishingConfig(env: NodeJS.ProcessEnv = process.env): PublishingConfig {
  return parseEnv(PublishingEnv, env, 'publishing');
}
