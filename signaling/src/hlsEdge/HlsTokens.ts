import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** What an HLS token grants: one viewer session of one stream, until `expiresAt` (ms since epoch). */
export interface HlsGrant {
  streamId: string;
  sessionId: string;
  expiresAt: number;
}

const TOKEN = /^([A-Za-z0-9_-]{8,64})\.([0-9]{1,15})\.([A-Za-z0-9_-]{43})$/;

/** Short-lived per-viewer HLS tokens: `<sessionId>.<expiresAt>.<HMAC-SHA256(streamId, sessionId, expiresAt)>`. */
export class HlsTokens {
  readonly #key: Buffer;

  constructor(
    secret: string | undefined,
    private readonly ttlMs: number,
  ) {
    this.#key = secret ? Buffer.from(secret) : randomBytes(32);
  }

  /** A fresh token for a viewer session of a stream. */
  issue(streamId: string, sessionId: string, now = Date.now()): string {
    const expiresAt = now + this.ttlMs;
    return `${sessionId}.${expiresAt}.${this.#mac(streamId, sessionId, expiresAt).toString('base64url')}`;
  }

  /** The grant of a valid, unexpired token for `streamId`, else undefined. */
  verify(streamId: string, token: string, now = Date.now()): HlsGrant | undefined {
    const m = TOKEN.exec(token);
    if (!m) return undefined;
    const sessionId = m[1] as string;
    const expiresAt = Number(m[2]);
    const given = Buffer.from(m[3] as string, 'base64url');
    const expected = this.#mac(streamId, sessionId, expiresAt);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return expiresAt > now ? { streamId, sessionId, expiresAt } : undefined;
  }

  #mac(streamId: string, sessionId: string, expiresAt: number): Buffer {
    return createHmac('sha256', this.#key).update(`ps1:hls:${streamId}:${sessionId}:${expiresAt}`).digest();
  }
}
