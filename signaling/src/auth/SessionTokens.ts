import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/** What a valid session token says. */
export interface Session {
  address: string;
  issuedAt: Date;
  expiresAt: Date;
}

const Claims = z.object({ sub: z.string().min(1).max(64), iat: z.number().int(), exp: z.number().int() });

/**
 * Stateless session tokens: `base64url(claims).base64url(HMAC-SHA256(claims))`. Verification is synchronous so HTTP
 * routes can check a session without I/O; tokens are short-lived and cannot be revoked before they expire.
 */
export class SessionTokens {
  private readonly key: Buffer;
  /** The issuing key first, then the keys of a rotation that are still accepted. */
  private readonly verifyKeys: readonly Buffer[];

  /**
   * `secret` undefined: a random per-process key (tokens are then valid on this process only). `previous`: secrets
   * whose tokens are still accepted (a rotation), never used to issue.
   */
  constructor(
    secret: string | undefined,
    private readonly ttlMs: number,
    previous: readonly string[] = [],
  ) {
    this.key = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
    this.verifyKeys = [this.key, ...previous.map((p) => Buffer.from(p, 'utf8'))];
  }

  /** Issues a token for `address`. */
  issue(address: string, now = Date.now()): { token: string; session: Session } {
    const iat = Math.floor(now / 1000);
    const exp = iat + Math.floor(this.ttlMs / 1000);
    const body = Buffer.from(JSON.stringify({ sub: address, iat, exp })).toString('base64url');
    return {
      token: `${body}.${this.mac(this.key, body).toString('base64url')}`,
      session: { address, issuedAt: new Date(iat * 1000), expiresAt: new Date(exp * 1000) },
    };
  }

  /** The session of a token, or undefined if it is malformed, forged or expired. */
  verify(token: string, now = Date.now()): Session | undefined {
    if (token.length > 1024) return undefined;
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined) return undefined;
    // Compare the text, not decoded bytes: base64url ignores the last character's spare bits, so a token would
    // otherwise have several valid spellings.
    const given = Buffer.from(mac);
    const signed = this.verifyKeys.some((key) => {
      const expected = Buffer.from(this.mac(key, body).toString('base64url'));
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
    if (!signed) return undefined;
    let claims: z.infer<typeof Claims>;
    try {
      claims = Claims.parse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
    } catch {
      return undefined;
    }
    if (claims.exp * 1000 <= now) return undefined;
    return { address: claims.sub, issuedAt: new Date(claims.iat * 1000), expiresAt: new Date(claims.exp * 1000) };
  }

  private mac(key: Buffer, body: string): Buffer {
    return createHmac('sha256', key).update(body).digest();
  }
}
