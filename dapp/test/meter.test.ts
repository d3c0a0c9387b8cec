// The watch meter's HLS rule: a second counts when received media grew or playback advanced in it, never otherwise.
import { describe, expect, it } from 'vitest';
import { WatchMeter } from '../src/lib/payment/meter.ts';

const START = 5_000_000;

describe('WatchMeter over HLS', () => {
  it('counts the seconds in which media arrived before playback started', () => {
    const meter = new WatchMeter(1n);
    // Two seconds of segments arriving (buffer end growing) while the player has not started yet.
    for (let i = 0; i <= 8; i++) meter.observe({ at: START + i * 250, mediaTime: 0, bufferedEnd: Math.floor(i / 4) });
    expect(meter.seenSeconds).toBe(2);
    expect(meter.check({ seq: 1, watchedSeconds: 2, owed: '2' })).toBeUndefined();
    expect(meter.check({ seq: 1, watchedSeconds: 3, owed: '3' })).toBe('NOT_SEEN');
  });

  it('does not count a stall: neither buffer nor playback moving', () => {
    const meter = new WatchMeter(1n);
    for (let i = 0; i <= 20; i++) meter.observe({ at: START + i * 250, mediaTime: 3, bufferedEnd: 5 });
    expect(meter.seenSeconds).toBe(0);
  });

  it('keeps counting while playback runs on what was buffered', () => {
    const meter = new WatchMeter(1n);
    // Samples in 4 wall-clock seconds (the first one has nothing to compare with).
    for (let i = 0; i <= 12; i++) meter.observe({ at: START + i * 250, mediaTime: i * 0.25, bufferedEnd: 4 });
    expect(meter.seenSeconds).toBe(4);
  });
});
