// Public configuration of the dapp, parsed once from SvelteKit's dynamic public env (set at server start).

import { z } from 'zod';
import { env } from '$env/dynamic/public';

const HttpUrl = z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, ''));
const WsUrl = z.url({ protocol: /^wss?$/ });

const PublicEnv = z.object({
  PUBLIC_SIGNALING_URL: HttpUrl.default('http://127.0.0.1:8787'),
  PUBLIC_INDEXER_URL: HttpUrl.default('http://127.0.0.1:8788'),
  PUBLIC_CHAIN_WS_URL: WsUrl.default('ws://127.0.0.1:9944'),
});

/** The dapp's endpoints. */
export type PublicConfig = z.infer<typeof PublicEnv>;

function parse(): PublicConfig {
  // Empty strings mean "not set", as in a shell's `VAR= npm start`.
  const raw = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = PublicEnv.safeParse(raw);
  if (!parsed.success) throw new Error(`invalid public configuration: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Endpoints of the signaling server, the indexer and the chain. */
export const config: PublicConfig = parse();
