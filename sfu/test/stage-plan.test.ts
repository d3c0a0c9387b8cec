// What the HLS relay carries of a stage (planRelay) and where the composition puts each picture (cellsOf): pure rules.
import { describe, expect, it } from 'vitest';
import { canvasOf, cellsOf, layerPickOf } from '../src/hls/composeFilter.ts';
import { hlsEncodeArgs } from '../src/hls/ffmpegArgs.ts';
import { parseHlsLadder } from '../src/hls/ladder.ts';
import { MAX_COMPOSED_VIDEOS, planRelay, type StageProducer } from '../src/hls/stagePlan.ts';

const cam = (participantId: string, id = `${participantId}-cam`, paused = false): StageProducer => ({
  id,
  kind: 'video',
  paused,
  participantId,
  source: 'camera',
});
const mic = (participantId: string, paused = false): StageProducer => ({
  id: `${participantId}-mic`,
  kind: 'audio',
  paused,
  participantId,
  source: 'microphone',
});
const screen = (participantId: string): StageProducer => ({
  id: `${participantId}-screen`,
  kind: 'video',
  paused: false,
  participantId,
  source: 'screen',
});

describe('planRelay', () => {
  it('relays a lone host as before, muted or not, so its mutes never rebuild the relay', () => {
    const live = planRelay([cam('host'), mic('host')]);
    expect(live).toEqual({ mode: 'single', video: 'host-cam', audio: 'host-mic', key: 'single:host-cam:host-mic' });
    expect(planRelay([cam('host', 'host-cam', true), mic('host', true)])?.key).toBe(live?.key);
    expect(planRelay([cam('host'), mic('host', true)])?.key).toBe(live?.key);
  });

  it('has nothing to relay without video', () => {
    expect(planRelay([mic('host'), mic('g1')])).toBeUndefined();
    expect(planRelay([])).toBeUndefined();
  });

  it('composes two cameras in a grid, mixing every sending microphone, the host first', () => {
    const plan = planRelay([cam('host'), mic('host'), cam('g1'), mic('g1')]);
    expect(plan).toMatchObject({
      mode: 'composed',
      layout: 'grid',
      videos: ['host-cam', 'g1-cam'],
      audios: ['host-mic', 'g1-mic'],
    });
  });

  it('mixes a guest speaking without a camera into the host picture', () => {
    expect(planRelay([cam('host'), mic('host'), mic('g1')])).toMatchObject({
      mode: 'composed',
      videos: ['host-cam'],
      audios: ['host-mic', 'g1-mic'],
    });
  });

  it('leaves paused producers out of a composition (their inputs would stall it)', () => {
    const plan = planRelay([cam('host'), mic('host', true), cam('g1', 'g1-cam', true), mic('g1'), cam('g2')]);
    expect(plan).toMatchObject({ mode: 'composed', videos: ['host-cam', 'g2-cam'], audios: ['g1-mic'] });
  });

  it('puts a screen share first and large (spotlight) unless the room set a layout', () => {
    const ps = [cam('host'), mic('host'), screen('g1'), cam('g1')];
    expect(planRelay(ps)).toMatchObject({ layout: 'spotlight', videos: ['g1-screen', 'host-cam', 'g1-cam'] });
    expect(planRelay(ps, 'grid')).toMatchObject({ layout: 'grid', videos: ['g1-screen', 'host-cam', 'g1-cam'] });
    expect(planRelay([cam('host'), cam('g1')], 'spotlight')).toMatchObject({ layout: 'spotlight' });
  });

  it(`composes ${MAX_COMPOSED_VIDEOS} videos at most: screens, then the host, then by join order`, () => {
    const ps = [cam('host'), cam('g1'), cam('g2'), cam('g3'), screen('g4'), cam('g5')];
    const plan = planRelay(ps);
    expect(plan?.mode === 'composed' && plan.videos).toEqual(['g4-screen', 'host-cam', 'g1-cam', 'g2-cam']);
  });

  it('keys plans by what they carry, so a rebuild happens only on a change', () => {
    const a = planRelay([cam('host'), cam('g1')]);
    expect(planRelay([cam('host'), cam('g1')])?.key).toBe(a?.key);
    expect(planRelay([cam('host'), cam('g1')], 'spotlight')?.key).not.toBe(a?.key);
    expect(planRelay([cam('host'), cam('g2')])?.key).not.toBe(a?.key);
  });
});

describe('the composition layout', () => {
  const canvas = canvasOf(parseHlsLadder('high:720:2500,low:360:600'));

  it('draws on a 16:9 canvas at the top rendition height', () => {
    expect(canvas).toEqual({ w: 1280, h: 720 });
    expect(canvasOf(parseHlsLadder('main:360:800'))).toEqual({ w: 640, h: 360 });
  });

  it('tiles 2, 3 and 4 cameras without overlap, covering the canvas', () => {
    expect(cellsOf('grid', 2, canvas)).toEqual([
      { x: 0, y: 0, w: 640, h: 720 },
      { x: 640, y: 0, w: 640, h: 720 },
    ]);
    expect(cellsOf('grid', 3, canvas).map((c) => [c.x, c.y])).toEqual([
      [0, 0],
      [640, 0],
      [320, 360],
    ]);
    expect(cellsOf('grid', 4, canvas).map((c) => [c.x, c.y, c.w, c.h])).toEqual([
      [0, 0, 640, 360],
      [640, 0, 640, 360],
      [0, 360, 640, 360],
      [640, 360, 640, 360],
    ]);
  });

  it('puts spotlight tiles inside the canvas, at its bottom right, one above the other', () => {
    const [main, ...tiles] = cellsOf('spotlight', 4, canvas);
    expect(main).toEqual({ x: 0, y: 0, w: 1280, h: 720 });
    for (const t of tiles) {
      expect(t.x + t.w).toBeLessThanOrEqual(1280);
      expect(t.y).toBeGreaterThanOrEqual(0);
      expect(t).toMatchObject({ w: 320, h: 180 });
    }
    expect(tiles.map((t) => t.y)).toEqual([520, 320, 120]);
  });

  it('takes each simulcast camera at the layer its cell needs', () => {
    expect(layerPickOf('grid', 1, 0)).toBe('high');
    expect([0, 1].map((i) => layerPickOf('grid', 2, i))).toEqual(['medium', 'medium']);
    expect([0, 1, 2, 3].map((i) => layerPickOf('grid', 4, i))).toEqual(['medium', 'medium', 'medium', 'medium']);
    expect([0, 1, 2].map((i) => layerPickOf('spotlight', 3, i))).toEqual(['high', 'low', 'low']);
  });

  it('leaves the single path’s arguments as they were, and maps the mix once per rendition when composing', () => {
    const ladder = parseHlsLadder('high:720:2500,low:360:600');
    const base = { input: { kind: 'sdp' as const, sdp: '' }, ladder, segmentSeconds: 1, dir: '/tmp/x', audio: true };
    const single = hlsEncodeArgs(base);
    expect(single[single.indexOf('-filter_complex') + 1]).toBe(
      "[0:v:0]split=2[v0][v1];[v0]scale=-2:'trunc(min(720,ih)/2)*2'[o0];[v1]scale=-2:'trunc(min(360,ih)/2)*2'[o1]",
    );
    expect(single).not.toContain('-use_wallclock_as_timestamps');
    const composed = hlsEncodeArgs({ ...base, compose: { layout: 'grid', videos: 2, audios: 2 } });
    const graph = composed[composed.indexOf('-filter_complex') + 1] as string;
    expect(graph).toContain('xstack=inputs=2:layout=0_0|640_0');
    expect(graph).toContain('amix=inputs=2');
    expect(composed).toContain('-use_wallclock_as_timestamps');
    const maps = composed.flatMap((a, i) => (a === '-map' ? [composed[i + 1]] : []));
    expect(maps).toEqual(['[o0]', '[a0]', '[o1]', '[a1]']);
  });
});
