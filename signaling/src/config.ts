import { z } from 'zod';
import { parseEnv } from './env.ts';
import { TrustProxy } from './http/trustProxy.ts';

const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);

const SignalingEnv = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  /** The dev chain or a real Asset Hub node. */
  CHAIN_WS_URL: z.url({ protocol: /^wss?$/ }).optional(),
  /** Socket.IO Redis streams adapter, for several signaling nodes. */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** Redis stream the nodes of one deployment share. */
  REDIS_STREAM: z.string().min(1).default('persecond:socket.io'),
  /** Origins allowed to call the HTTP API and open sockets (the dapp). */
  CORS_ORIGINS: csv.default(['http://127.0.0.1:5173', 'http://localhost:5173']),
  /** Proxies trusted to name the client in `X-Forwarded-For` (sign-in limits key on that address); default none. */
  TRUST_PROXY: TrustProxy.optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Signaling server configuration, parsed once from the environment. */
export type SignalingConfig = z.infer<typeof SignalingEnv>;

/** Parses the signaling environment; throws a readable error on bad values. */
export function loadSignalingConfig(env: NodeJS.ProcessEnv = process.env): SignalingConfig {
  return parseEnv(SignalingEnv, env, 'signaling');
}
