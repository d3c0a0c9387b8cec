import { z } from 'zod';
import { parseEnv } from '../env.ts';

/** A STUN/TURN URL as RTCPeerConnection takes it (`turn:host:port?transport=tcp`, `turns:…`, `stun:…`). */
const IceUrl = z.string().regex(/^(stuns?|turns?):[^\s,?]+(\?transport=(udp|tcp))?$/, 'a stun:/turn:/turns: URL');

const TurnEnv = z
  .object({
    /** Comma-separated TURN (and STUN) URLs handed to clients, e.g. `turn:turn.example.com:3478?transport=udp,…`. */
    TURN_URLS: z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((u) => u.trim())
          .filter((u) => u !== ''),
      )
      .pipe(z.array(IceUrl).min(1).max(8))
      .optional(),
    /** coturn's `static-auth-secret` (TURN REST API): credentials are HMACs under it, never the secret itself. */
    TURN_SECRET: z.string().min(16, 'at least 16 characters').max(256).optional(),
    /** How long a minted credential lets a client allocate a relay. */
    TURN_TTL_SECONDS: z.coerce.number().int().min(60).max(604_800).default(86_400),
  })
  .refine((e) => (e.TURN_URLS === undefined) === (e.TURN_SECRET === undefined), {
    message: 'set TURN_URLS and TURN_SECRET together (or neither: TURN off)',
    path: ['TURN_SECRET'],
  });

/** Where clients find the TURN server and how their credentials are minted; undefined: TURN off. */
export interface TurnConfig {
  urls: string[];
  secret: string;
  ttlSeconds: number;
}

/** Parses TURN_URLS / TURN_SECRET / TURN_TTL_SECONDS once; both unset (or empty) turns TURN off. */
export function loadTurnConfig(env: NodeJS.ProcessEnv = process.env): TurnConfig | undefined {
  const e = parseEnv(TurnEnv, env, 'TURN');
  if (e.TURN_URLS === undefined || e.TURN_SECRET === undefined) return undefined;
  return { urls: e.TURN_URLS, secret: e.TURN_SECRET, ttlSeconds: e.TURN_TTL_SECONDS };
}
