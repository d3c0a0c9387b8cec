import { describe, expect, it } from 'vitest';
import { levelIndexFor, qualityChoices, qualityState, qualityText, renditionLabel } from '../src/lib/media/quality.ts';

// hls.js orders its levels by bit rate, lowest first (the master playlist lists the highest first): both orders work.
const LADDER = [
  { height: 720, bitrate: 2_855_600 },
  { height: 360, bitrate: 765_600 },
];
const REVERSED = [...LADDER].reverse();

describe('the HLS quality menu', () => {
  it('offers High and Low only when there are two renditions to choose between', () => {
    expect(qualityChoices(LADDER)).toEqual(['auto', 'high', 'low']);
    expect(qualityChoices([LADDER[0]!])).toEqual(['auto']);
    expect(qualityChoices([])).toEqual(['auto']);
    expect(levelIndexFor('high', [LADDER[0]!])).toBe(-1);
  });

  it('maps Auto to automatic and High/Low to the highest and lowest rendition, whatever the order', () => {
    expect(levelIndexFor('auto', LADDER)).toBe(-1);
    expect([levelIndexFor('high', LADDER), levelIndexFor('low', LADDER)]).toEqual([0, 1]);
    expect([levelIndexFor('high', REVERSED), levelIndexFor('low', REVERSED)]).toEqual([1, 0]);
    // Same height: the bit rate decides.
    const sameHeight = [
      { height: 360, bitrate: 400_000 },
      { height: 360, bitrate: 900_000 },
      { height: 360, bitrate: 600_000 },
    ];
    expect([levelIndexFor('high', sameHeight), levelIndexFor('low', sameHeight)]).toEqual([1, 0]);
  });

  it('shows the pick and the rendition playing, and a manual pick not playing yet as switching', () => {
    const auto = qualityState(LADDER, -1, 0);
    expect(auto).toEqual({ choices: ['auto', 'high', 'low'], choice: 'auto', playing: '720p', switching: false });
    expect(qualityText(auto)).toBe('Auto · 720p');
    expect(qualityText(qualityState(LADDER, -1, 1))).toBe('Auto · 360p');
    const low = qualityState(LADDER, 1, 0);
    expect(low).toMatchObject({ choice: 'low', switching: true });
    expect(qualityText(low)).toBe('Low · switching from 720p…');
    expect(qualityText(qualityState(LADDER, 1, 1))).toBe('Low · 360p');
    expect(qualityText(qualityState(LADDER, 0, 0))).toBe('High · 720p');
    // Nothing plays yet.
    expect(qualityText(qualityState(LADDER, -1, -1))).toBe('Auto');
    expect(qualityState(LADDER, 1, -1).switching).toBe(false);
  });

  it('names a rendition by its height, else its bit rate', () => {
    expect(renditionLabel({ height: 1080, bitrate: 5e6 })).toBe('1080p');
    expect(renditionLabel({ height: 0, bitrate: 799_600 })).toBe('800 kbps');
    expect(renditionLabel(undefined)).toBeUndefined();
  });
});
