// The stage view's tiles and layouts (no browser: the producer ids stand in for the received tracks).
import type { StageMember } from '@persecond/signaling/protocol';
import { describe, expect, it } from 'vitest';
import { arrange, effectiveLayout, gridColumns, stageTiles, type TileTrack } from '../src/lib/stage/layout.ts';
import { reasonText, sourceState } from '../src/lib/stage/memberState.ts';

const producer = (producerId: string, source: 'camera' | 'microphone' | 'screen', paused = false) => ({
  producerId,
  kind: source === 'microphone' ? ('audio' as const) : ('video' as const),
  source,
  paused,
});
const host: StageMember = {
  wallet: 'H',
  role: 'host',
  forceMuted: [],
  producers: [producer('hv', 'camera'), producer('ha', 'microphone')],
};
const guest: StageMember = {
  wallet: 'G',
  role: 'guest',
  forceMuted: [],
  producers: [producer('gv', 'camera'), producer('ga', 'microphone'), producer('gs', 'screen')],
};
/** Stand-ins for the received tracks: the producer id as the track. */
const received = (ids: string[]) =>
  new Map<string, TileTrack<string>>(ids.map((producerId) => [producerId, { producerId, track: producerId }]));

describe('stage tiles', () => {
  it('one tile per camera and per screen being shared, with the received track of each', () => {
    const tiles = stageTiles([host, guest], received(['hv', 'gv', 'gs']));
    expect(tiles.map((t) => [t.key, t.video, t.videoOff])).toEqual([
      ['H/camera', 'hv', false],
      ['G/camera', 'gv', false],
      ['G/screen/gs', 'gs', false],
    ]);
  });

  it('a paused camera is off, a paused screen is no share, a member with only a microphone has a tile', () => {
    const off: StageMember = { ...guest, producers: [producer('gv', 'camera', true), producer('gs', 'screen', true)] };
    const voice: StageMember = { ...guest, wallet: 'V', producers: [producer('va', 'microphone')] };
    const tiles = stageTiles([off, voice], received([]));
    expect(tiles.map((t) => [t.key, t.videoOff])).toEqual([
      ['G/camera', true],
      ['V/camera', true],
    ]);
    expect(stageTiles([{ ...guest, producers: [] }], received([]))).toEqual([]);
  });

  it('the screen layout when a screen is shared unless the viewer picked another; never a screen without one', () => {
    const withScreen = stageTiles([host, guest], received([]));
    const without = stageTiles([host], received([]));
    expect(effectiveLayout(undefined, withScreen)).toBe('screen');
    expect(effectiveLayout(undefined, without)).toBe('grid');
    expect(effectiveLayout('spotlight', withScreen)).toBe('spotlight');
    expect(effectiveLayout('screen', without)).toBe('grid');
  });

  it('arranges a grid, a spotlight (the host until a member is picked) and the screen with its sharer in pip', () => {
    const tiles = stageTiles([host, guest], received([]));
    expect(arrange(tiles, 'grid').main).toHaveLength(3);
    const spot = arrange(tiles, 'spotlight');
    expect(spot.main.map((t) => t.key)).toEqual(['H/camera']);
    expect(spot.strip).toHaveLength(2);
    expect(arrange(tiles, 'spotlight', 'G').main.map((t) => t.key)).toEqual(['G/camera']);
    const screen = arrange(tiles, 'screen');
    expect(screen.main.map((t) => t.key)).toEqual(['G/screen/gs']);
    expect(screen.pip?.key).toBe('G/camera');
    expect(screen.strip.map((t) => t.key)).toEqual(['H/camera']);
    expect([1, 2, 4, 5, 9].map(gridColumns)).toEqual([1, 2, 2, 3, 3]);
  });

  it('a source held by the host reads as such, whatever its producer says', () => {
    const muted: StageMember = { ...guest, forceMuted: ['microphone'] };
    expect(sourceState(muted, 'microphone')).toBe('muted-by-host');
    expect(sourceState(guest, 'microphone')).toBe('on');
    expect(sourceState({ ...guest, producers: [producer('gv', 'camera', true)] }, 'camera')).toBe('off');
    expect(sourceState(host, 'screen')).toBe('none');
    expect(reasonText('removed')).toBe('The host took you off the stage.');
  });
});
