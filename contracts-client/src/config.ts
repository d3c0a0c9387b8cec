import { z } from 'zod';

const DevChainEnv = z.object({
  DEVCHAIN_HOST: z.literal('127.0.0.1').default('127.0.0.1'),
  DEVCHAIN_PORT: z.coerce.number().int().min(0).max(65535).default(9944),
  DEVCHAIN_MODE: z.enum(['Instant', 'Batch', 'Manual']).default('Instant'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Configuration of the dev chain process, parsed once from the environment. */
export type DevChainConfig = z.infer<typeof DevChainEnv>;

/** Parses the dev chain process environment; throws a readable error on bad values. */
export function loadDevChainConfig(env: NodeJS.ProcessEnv = process.env): DevChainConfig {
  const parsed = DevChainEnv.safeParse(env);
  if (!parsed.success) throw new Error(`invalid dev chain configuration: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
