import { z } from 'zod';
import { parseEnv } from '../env.ts';

const AuthEnv = z.object({
  /**
   * HMAC key of session tokens (≥ 32 chars). Unset: a random secret per process, so tokens die with the process and
   * are not accepted by other nodes — set the same value on every node of a deployment.
   */
  SESSION_SECRET: z.string().min(32, 'SESSION_SECRET must be at least 32 characters').optional(),
  /**
   * The secret SESSION_SECRET replaced, during a rotation: tokens signed with it are still accepted (never issued)
   * until they expire, so nobody is signed out. Remove it SESSION_TTL_SECONDS after every node has the new secret.
   */
  SESSION_SECRET_PREVIOUS: z.string().min(32, 'SESSION_SECRET_PREVIOUS must be at least 32 characters').optional(),
  /** Lifetime of a session token (cookie and handshake token). */
  SESSION_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 86_400)
    .default(3_600),
  /** Name of the httpOnly session cookie. */
  SESSION_COOKIE: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .default('ps_session'),
  /** Set `Secure` on the cookie (true behind HTTPS). */
  SESSION_COOKIE_SECURE: z.stringbool().default(false),
  /**
   * SameSite attribute of the cookie: `lax` while the dapp and signaling share a site (e.g. app.example.com and
   * api.example.com), `none` (with SESSION_COOKIE_SECURE) when they are on different sites.
   */
  SESSION_COOKIE_SAMESITE: z.enum(['lax', 'strict', 'none']).default('lax'),
  /** Set `Partitioned` (CHIPS): a cross-site cookie browsers keep per top-level site instead of blocking it. */
  SESSION_COOKIE_PARTITIONED: z.stringbool().default(false),
  /** How long a sign-in nonce (and the message carrying it) stays valid. */
  SIWS_NONCE_TTL_SECONDS: z.coerce.number().int().min(30).max(3_600).default(300),
  /** The domain (host[:port]) sign-in messages are issued for; default: the origin's host if it is a CORS origin. */
  SIWS_DOMAIN: z
    .string()
    .regex(/^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/, 'host[:port]')
    .optional(),
  /** Statement shown in the wallet. */
  SIWS_STATEMENT: z
    .string()
    .regex(/^[^\n]{1,512}$/)
    .default('Sign in to Persecond. This request costs nothing and moves no funds.'),
  /** Sign-in requests (nonce + verify) allowed per IP per window. */
  AUTH_RATE_LIMIT_MAX: z.coerce.number().int().min(1).default(30),
  AUTH_RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1_000).default(60_000),
  /** Prefix of the Redis keys holding nonces (when REDIS_URL is set). */
  AUTH_REDIS_PREFIX: z.string().min(1).default('persecond:auth:'),
});

/** Sign-in and session configuration. */
export type AuthConfig = z.infer<typeof AuthEnv>;

// Browsers drop a SameSite=None or Partitioned cookie without Secure: refuse the setting instead of failing silently.
const CheckedAuthEnv = AuthEnv.refine(
  (c) => c.SESSION_COOKIE_SECURE || (c.SESSION_COOKIE_SAMESITE !== 'none' && !c.SESSION_COOKIE_PARTITIONED),
  {
    message: 'SESSION_COOKIE_SAMESITE=none and SESSION_COOKIE_PARTITIONED need SESSION_COOKIE_SECURE=true (HTTPS)',
    path: ['SESSION_COOKIE_SECURE'],
  },
)
  // A previous secret alone would sign new sessions with a random key while accepting old ones: a half rotation.
  .refine((c) => !c.SESSION_SECRET_PREVIOUS || c.SESSION_SECRET, {
    message: 'SESSION_SECRET_PREVIOUS needs SESSION_SECRET (the new secret)',
    path: ['SESSION_SECRET'],
  });

/** Parses the auth environment once; empty values count as unset. */
export function loadAuthConfig(env: NodeJS.ProcessEnv = process.env): AuthConfig {
  return parseEnv(CheckedAuthEnv, env, 'auth');
}
