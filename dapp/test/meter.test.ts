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

describe('WatchMeter carrying on a session from an earlier visit', () => {
  it('counts the seconds the server metered before, and only new seconds after', () => {
    const meter = new WatchMeter(2n);
    meter.resumeAt({ seq: 40, watchedSeconds: 38, acknowledged: 74n });
    expect(meter.acknowledgedOwed).toBe(74n);
    expect(meter.check({ seq: 40, watchedSeconds: 38, owed: '76' })).toBe('OUT_OF_ORDER');
    // The next tick charges one more second: not seen on this page yet.
    expect(meter.check({ seq: 41, watchedSeconds: 39, owed: '78' })).toBe('NOT_SEEN');
    // Media advancing within one wall-clock second.
    for (let i = 0; i <= 3; i++) meter.observe({ at: START + i * 250, framesDecoded: i * 5 });
    expect(meter.check({ seq: 41, watchedSeconds: 39, owed: '78' })).toBeUndefined();
    expect(meter.check({ seq: 41, watchedSeconds: 40, owed: '80' })).toBe('NOT_SEEN');
  });
});
