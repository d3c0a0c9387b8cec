/** One key's value as the cache holds it: the load (settled or not) and when it started. */
interface Entry<V> {
  value: Promise<V>;
  at: number;
}

/**
 * Values loaded once per key and kept in memory, so a hot path reads no database: `invalidate(key)` (after this
 * node's write, or another node's, see `ChatInvalidation`) drops a key, the next `get` loads it again. A load that an
 * invalidation overtook answers the callers already waiting on it but is not kept. `ttlMs` bounds how long a value
 * can be stale if an invalidation was lost (a node unreachable for a moment); at most `maxKeys` are kept (the oldest
 * loaded go first). A failed load is not kept.
 */
export class KeyedCache<K, V> {
  readonly #entries = new Map<K, Entry<V>>();

  constructor(
    private readonly load: (key: K) => Promise<V>,
    private readonly ttlMs: number,
    private readonly maxKeys = 10_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The key's value: held, or loaded now (one load however many ask at once). */
  get(key: K): Promise<V> {
    const now = this.clock();
    const held = this.#entries.get(key);
    if (held && now - held.at < this.ttlMs) return held.value;
    if (held) this.#entries.delete(key);
    const entry: Entry<V> = { value: this.load(key), at: now };
    this.#entries.set(key, entry);
    entry.value.catch(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    });
    if (this.#entries.size > this.maxKeys) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    return entry.value;
  }

  /** Drops the key's value: the next `get` loads it again. */
  invalidate(key: K): void {
    this.#entries.delete(key);
  }

  /** Keys held (loaded or loading). */
  get size(): number {
    return this.#entries.size;
  }

  /** Drops everything. */
  clear(): void {
    this.#entries.clear();
  }
}
