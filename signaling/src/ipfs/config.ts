import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Default embedded repository: `.data/ipfs` at the repository root. */
export const DEFAULT_IPFS_DIR = fileURLToPath(new URL('../../../.data/ipfs', import.meta.url));

/** Environment variables of the IPFS layer. */
export const ipfsEnvSchema = z.object({
  /** Kubo RPC API; when set, the Kubo backend is used instead of embedded Helia. */
  IPFS_RPC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Embedded Helia repository directory. */
  IPFS_DIR: z.string().min(1).default(DEFAULT_IPFS_DIR),
  /** Time limit of one Kubo RPC operation. */
  IPFS_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
});

/** Which backend to open and how. */
export type IpfsConfig = { backend: 'helia'; dir: string } | { backend: 'kubo'; url: string; timeoutMs: number };

/** Parses the IPFS variables of `env` (throws a ZodError listing every bad variable). */
export function parseIpfsConfig(env: NodeJS.ProcessEnv = process.env): IpfsConfig {
  const parsed = ipfsEnvSchema.parse({
    IPFS_RPC_URL: env.IPFS_RPC_URL || undefined,
    IPFS_DIR: env.IPFS_DIR || undefined,
    IPFS_TIMEOUT_MS: env.IPFS_TIMEOUT_MS || undefined,
  });
  return parsed.IPFS_RPC_URL === undefined
    ? { backend: 'helia', dir: parsed.IPFS_DIR }
    : { backend: 'kubo', url: parsed.IPFS_RPC_URL, timeoutMs: parsed.IPFS_TIMEOUT_MS };
}
