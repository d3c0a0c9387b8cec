import { randomBytes } from 'node:crypto';
import { MemoryNonceStore } from '@persecond/contracts-client';
import type { RedisClientType } from 'redis';
import type { DependencyAvailability } from '../dependencies/Availability.ts';
import { guardRedis } from '../dependencies/redisDependency.ts';

/** Single-use, expiring sign-in nonces. */
export interface NonceStore {
  /** Issues a fresh nonce valid for the store's lifetime. */
  issue(): Promise<string>;
  /** Burns `nonce`; true only the first time and before it expires. */
  consume(nonce: string): Promise<boolean>;
}

/** One node's nonces, in memory (contracts-client's MemoryNonceStore). */
export class LocalNonceStore implements NonceStore {
  private readonly store: MemoryNonceStore;

  constructor(ttlMs: number) {
    this.store = new MemoryNonceStore(ttlMs);
  }

  async issue(): Promise<string> {
    return this.store.issue();
  }

  async consume(nonce: string): Promise<boolean> {
    return this.store.consume(nonce);
  }
}

/**
 * Nonces shared by every node: one Redis key per nonce with a TTL, burnt atomically with GETDEL. While Redis is away
 * (`availability`) or silent, a sign-in is refused REDIS_UNAVAILABLE rather than left waiting.
 */
export class RedisNonceStore implements NonceStore {
  constructor(
    private readonly redis: Pick<RedisClientType, 'set' | 'getDel'>,
    private readonly prefix: string,
    private readonly ttlMs: number,
    private readonly availability?: DependencyAvailability,
  ) {}

  async issue(): Promise<string> {
    const nonce = randomBytes(16).toString('hex');
    const options = { expiration: { type: 'PX', value: this.ttlMs }, condition: 'NX' } as const;
    await guardRedis(this.availability, () => this.redis.set(this.key(nonce), '1', options));
    return nonce;
  }

  async consume(nonce: string): Promise<boolean> {
    return (await guardRedis(this.availability, () => this.redis.getDel(this.key(nonce)))) !== null;
  }

  private key(nonce: string): string {
    return `${this.prefix}nonce:${nonce}`;
  }
}
