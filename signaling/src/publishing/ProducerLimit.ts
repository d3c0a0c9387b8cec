import { SignalingError } from '../errors.ts';

/**
 * Bounds the producers of each key (a publisher of a stream). Producers still being created by mediasoup count too, so
 * concurrent `rtc:produce` requests (from one socket or several of the creator's) cannot overshoot the bound.
 */
export class ProducerLimit {
  readonly #pending = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Runs `create` unless `key` has `max` producers (its `existing` ones plus those being created): LIMIT_REACHED. */
  async admit<T>(key: string, existing: number, create: () => Promise<T>): Promise<T> {
    const pending = this.#pending.get(key) ?? 0;
    if (existing + pending >= this.max) {
      throw new SignalingError('LIMIT_REACHED', `a publisher of a stream has at most ${this.max} producers`, {
        limit: 'producers-per-stream',
        max: String(this.max),
      });
    }
    this.#pending.set(key, pending + 1);
    try {
      return await create();
    } finally {
      const left = (this.#pending.get(key) ?? 1) - 1;
      if (left > 0) this.#pending.set(key, left);
      else this.#pending.delete(key);
    }
  }
}
