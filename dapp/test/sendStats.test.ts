import { describe, expect, it } from 'vitest';
import { formatBitrate, sendFigures, sendSample } from '../src/lib/media/sendStats.ts';

const layer = (width: number, bytesSent: number, timestamp: number, active = true) => ({
  type: 'outbound-rtp',
  kind: 'video',
  timestamp,
  bytesSent,
  frameWidth: width,
  frameHeight: (width * 9) / 16,
  framesPerSecond: 29.6,
  active,
});
const audio = (bytesSent: number, timestamp: number) => ({ type: 'outbound-rtp', kind: 'audio', bytesSent, timestamp });

describe("the studio's outgoing figures", () => {
  it('shows the largest active layer, and the bitrate of every layer and the audio between two samples', () => {
    const first = sendSample([layer(320, 1_000, 1_000), layer(1280, 10_000, 1_000), audio(500, 1_000)]);
    const second = sendSample([
      { type: 'transport', timestamp: 3_000 },
      layer(320, 51_000, 3_000),
      layer(1280, 460_000, 3_000),
      audio(24_500, 3_000),
    ]);
    expect(second.video).toEqual({ width: 1280, height: 720, fps: 30 });
    // (50 000 + 450 000 + 24 000) bytes in 2 s.
    expect(sendFigures(first, second)).toEqual({ bitrate: 2_096_000, video: second.video });
    expect(formatBitrate(2_096_000)).toBe('2.1 Mbit/s');
    expect(formatBitrate(96_400)).toBe('96 kbit/s');
  });

  it('skips a layer the encoder dropped, and never shows a negative rate or one over no time', () => {
    const sample = sendSample([layer(320, 1_000, 5_000), layer(1280, 900, 5_000, false)]);
    expect(sample.video).toEqual({ width: 320, height: 180, fps: 30 });
    const earlier = { at: 4_000, bytesSent: 9_000 };
    expect(sendFigures(earlier, sample)?.bitrate).toBe(0);
    expect(sendFigures(sample, sample)).toBeUndefined();
    expect(sendSample([audio(0, 1)]).video).toBeUndefined();
  });
});
