import { describe, expect, it } from 'vitest';
import { layerChoices, layerFor, layerState } from '../src/lib/media/layers.ts';
import { qualityText } from '../src/lib/media/quality.ts';
import { SIMULCAST_ENCODINGS } from '../src/lib/media/simulcast.ts';

const layers = (spatialLayer: number | null, spatialLayers = 3) => ({
  consumerId: 'c',
  spatialLayer,
  temporalLayer: spatialLayer === null ? null : 2,
  spatialLayers,
});

describe('the WebRTC quality menu over simulcast layers', () => {
  it('offers Auto/High/Medium/Low for three layers, fewer for fewer, Auto alone without simulcast', () => {
    expect(layerChoices(3)).toEqual(['auto', 'high', 'medium', 'low']);
    expect(layerChoices(2)).toEqual(['auto', 'high', 'low']);
    expect(layerChoices(1)).toEqual(['auto']);
    expect(layerState('auto', undefined, 0).choices).toEqual(['auto']);
  });

  it('maps a pick to the layer the server prefers (as sfu/src/layers.ts does)', () => {
    expect([layerFor('low', 3), layerFor('medium', 3), layerFor('high', 3), layerFor('auto', 3)]).toEqual([
      0,
      1,
      2,
      undefined,
    ]);
    expect(layerFor('medium', 2)).toBe(0);
  });

  it('shows what plays: the decoded height, else the layer; a manual pick above what arrives is switching', () => {
    expect(qualityText(layerState('auto', layers(2), 540))).toBe('Auto · 540p');
    expect(qualityText(layerState('high', layers(0), 0))).toBe('High · layer 1 of 3');
    // Low picked while the top layer still arrives: switching until the server's switch lands.
    expect(qualityText(layerState('low', layers(2), 540))).toBe('Low · switching from 540p…');
    expect(qualityText(layerState('low', layers(0), 135))).toBe('Low · 135p');
    // High under bandwidth pressure: the best that arrives, not a pending switch.
    expect(layerState('high', layers(1), 270).switching).toBe(false);
  });

  it('sends three encodings, lowest first, each at least double the one below', () => {
    expect(SIMULCAST_ENCODINGS.map((e) => e.scaleResolutionDownBy)).toEqual([4, 2, 1]);
    const rates = SIMULCAST_ENCODINGS.map((e) => e.maxBitrate ?? 0);
    expect(rates[1]! / rates[0]!).toBeGreaterThanOrEqual(2);
    expect(rates[2]! / rates[1]!).toBeGreaterThanOrEqual(2);
  });
});
