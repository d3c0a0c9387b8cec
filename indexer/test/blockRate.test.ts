// Blocks per second as `GET /v1/status` and `indexer_blocks_per_second` report them: a 10 s sliding window.
import { describe, expect, it } from 'vitest';
import { BlockRate } from '../src/BlockRate.ts';

describe('BlockRate', () => {
  it('reports the blocks written in the last window per second, and forgets older writes', () => {
    const rate = new BlockRate(10_000);
    expect(rate.perSecond(0)).toBe(0);
    rate.record(100, 1_000);
    rate.record(400, 4_000);
    rate.record(0, 5_000);
    expect(rate.perSecond(5_000)).toBe(50);
    // The first write leaves the window 10 s after it was made, the second 10 s after it.
    expect(rate.perSecond(11_000)).toBe(40);
    expect(rate.perSecond(14_000)).toBe(0);
  });
});
