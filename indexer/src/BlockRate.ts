/** Blocks written per second over a sliding window (what `GET /v1/status` and `indexer_blocks_per_second` report). */
export class BlockRate {
  /** Writes in the window, oldest first: when (ms, monotonic) and how many blocks. */
  readonly #writes: Array<{ at: number; blocks: number }> = [];

  /** `windowMs`: how far back the rate looks (default 10 s, like Prometheus' `rate(…[10s])`). */
  constructor(readonly windowMs = 10_000) {}

  /** Records `blocks` written at `at` (default now). */
  record(blocks: number, at = performance.now()): void {
    if (blocks <= 0) return;
    this.#writes.push({ at, blocks });
    this.#prune(at);
  }

  /** Blocks written in the last window, per second of the window (0 when nothing was written in it). */
  perSecond(now = performance.now()): number {
    this.#prune(now);
    const blocks = this.#writes.reduce((n, w) => n + w.blocks, 0);
    return blocks / (this.windowMs / 1000);
  }

  #prune(now: number): void {
    const oldest = now - this.windowMs;
    while (this.#writes.length > 0 && this.#writes[0]!.at <= oldest) this.#writes.shift();
  }
}
