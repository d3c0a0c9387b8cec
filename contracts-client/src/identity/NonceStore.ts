import { randomBytes } from 'node:crypto';

/** In-memory, single-node sign-in nonce store: each nonce is usable once, for `ttlMs`. */
export class MemoryNonceStore {
  private readonly nonces = new Map<string, number>();

  constructor(private readonly ttlMs = 5 * 60_000) {}

  /** Issues a fresh random nonce (alphanumeric, 32 chars). */
  issue(now = Date.now()): string {
    this.sweep(now);
    const nonce = randomBytes(16).toString('hex');
    this.nonces.set(nonce, now + this.ttlMs);
    return nonce;
  }

  /** Burns `nonce`; true only the first time and before it expires. */
  consume(nonce: string, now = Date.now()): boolean {
    const expires = this.nonces.get(nonce);
    this.nonces.delete(nonce);
    return expires !== undefined && now < expires;
  }

  private sweep(now: number): void {
    for (const [nonce, expires] of this.nonces) if (expires <= now) this.nonces.delete(nonce);
  }
}
