import { createHmac } from 'node:crypto';

/** A TURN REST API credential: what RTCIceServer's `username` / `credential` take. */
export interface TurnCredential {
  /** `<expiry unix seconds>:<who>`: coturn (`use-auth-secret`) refuses it once the expiry passed. */
  username: string;
  /** base64(HMAC-SHA1(secret, username)): coturn recomputes it from its `static-auth-secret`. */
  credential: string;
  /** When it expires (ms since epoch). */
  expiresAt: number;
}

/**
 * Mints a short-lived TURN credential for `who` (a wallet or session id; no `:` in it) valid `ttlSeconds` from `now`
 * (draft-uberti-behave-turn-rest, as coturn's `use-auth-secret` checks it).
 */
export function mintTurnCredential(secret: string, who: string, ttlSeconds: number, now = Date.now()): TurnCredential {
  if (who.includes(':')) throw new Error('a TURN username part must not contain ":"');
  const expiry = Math.floor(now / 1000) + ttlSeconds;
  const username = `${expiry}:${who}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential, expiresAt: expiry * 1000 };
}
