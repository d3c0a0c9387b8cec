import type { Rendition } from './ladder.ts';
import type { StageLayout } from './stagePlan.ts';

/** What ffmpeg composes: `videos` RTP video inputs (0:v:0…) into one picture, `audios` (0:a:0…) into one mix. */
export interface ComposeSpec {
  layout: StageLayout;
  videos: number;
  audios: number;
}

/** Frame rate of the composed picture (inputs come at their own rates; the stacked output is made constant). */
export const COMPOSE_FPS = 30;

/** A rectangle of the canvas, in pixels. */
export interface Cell {
  x: number;
  y: number;
  w: number;
  h: number;
}

const even = (n: number): number => Math.max(2, Math.floor(n / 2) * 2);

/** The composed picture's size: 16:9 at the top rendition's height (the renditions scale down from it, never up). */
export function canvasOf(ladder: readonly Rendition[]): { w: number; h: number } {
  const h = even(ladder[0]?.maxHeight ?? 720);
  return { w: even(Math.round((h * 16) / 9)), h };
}

/**
 * Where each video goes. Grid: 1 fills the canvas, 2 side by side (each letterboxed in its half), 3 and 4 in a 2×2
 * grid (the third centred on the bottom row when alone). Spotlight: the first fills the canvas and the others are
 * quarter-size tiles stacked up from its bottom-right corner.
 */
export function cellsOf(layout: StageLayout, n: number, canvas: { w: number; h: number }): Cell[] {
  const { w, h } = canvas;
  if (n <= 1) return [{ x: 0, y: 0, w, h }];
  if (layout === 'spotlight') {
    const tw = even(w / 4);
    const th = even(h / 4);
    const m = even(h / 36);
    const tiles = Array.from({ length: n - 1 }, (_, i) => ({ x: w - tw - m, y: h - (i + 1) * (th + m), w: tw, h: th }));
    return [{ x: 0, y: 0, w, h }, ...tiles];
  }
  const cw = even(w / 2);
  if (n === 2) {
    return [
      { x: 0, y: 0, w: cw, h },
      { x: cw, y: 0, w: cw, h },
    ];
  }
  const ch = even(h / 2);
  const cells = [
    { x: 0, y: 0, w: cw, h: ch },
    { x: cw, y: 0, w: cw, h: ch },
    { x: n === 3 ? even(w / 4) : 0, y: ch, w: cw, h: ch },
    { x: cw, y: ch, w: cw, h: ch },
  ];
  return cells.slice(0, n);
}

/**
 * The simulcast layer a composed video needs (a browser sends 1/4, 1/2 and full size): a 16:9 camera fitted in its
 * cell at half the canvas height or less is taken from the middle layer, at a quarter or less from the lowest, so
 * ffmpeg does not decode pixels it scales away.
 */
export function layerPickOf(layout: StageLayout, n: number, index: number): 'high' | 'medium' | 'low' {
  const canvas = { w: 1600, h: 900 };
  const cell = cellsOf(layout, n, canvas)[index];
  if (!cell) return 'high';
  const fitted = Math.min(cell.h, (cell.w * 9) / 16) / canvas.h;
  return fitted <= 0.25 ? 'low' : fitted <= 0.5 ? 'medium' : 'high';
}

/** Scales one input to fit its cell (keeping its aspect ratio) and pads it to the cell's size, in black. */
function fit(input: string, c: Cell, out: string, then = ''): string {
  return (
    `[${input}]scale=${c.w}:${c.h}:force_original_aspect_ratio=decrease:force_divisible_by=2,` +
    `pad=${c.w}:${c.h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p${then}[${out}]`
  );
}

/**
 * The filter graph composing the inputs into `[cv]` (the canvas at `COMPOSE_FPS`) and the audio inputs into a mix
 * split once per rendition (`[a0]`, `[a1]`…; with none, silence). Grid uses xstack, which emits a picture whenever any input has a new
 * frame (hence the fps filter after it); spotlight overlays the small tiles on the large input made constant-rate
 * first, so a screen share sending a frame a second still moves the cameras on it at full rate. Both wait for every
 * input's next frame (their timestamps line them up), so a stalled input delays the picture: paused producers are
 * never composed (`planRelay`).
 */
export function composeGraph(spec: ComposeSpec, ladder: readonly Rendition[]): string[] {
  const canvas = canvasOf(ladder);
  const cells = cellsOf(spec.layout, spec.videos, canvas);
  const parts: string[] = [];
  if (spec.videos <= 1) {
    parts.push(fit('0:v:0', cells[0] as Cell, 'cv', `,fps=${COMPOSE_FPS}`));
  } else if (spec.layout === 'spotlight') {
    parts.push(fit('0:v:0', cells[0] as Cell, 'm', `,fps=${COMPOSE_FPS}`));
    let base = 'm';
    cells.slice(1).forEach((c, k) => {
      const i = k + 1;
      const out = i === cells.length - 1 ? 'cv' : `t${i}`;
      parts.push(fit(`0:v:${i}`, c, `c${i}`), `[${base}][c${i}]overlay=${c.x}:${c.y}[${out}]`);
      base = out;
    });
  } else {
    cells.forEach((c, i) => {
      parts.push(fit(`0:v:${i}`, c, `c${i}`));
    });
    const inputs = cells.map((_, i) => `[c${i}]`).join('');
    const layout = cells.map((c) => `${c.x}_${c.y}`).join('|');
    parts.push(`${inputs}xstack=inputs=${cells.length}:layout=${layout}:fill=black,fps=${COMPOSE_FPS}[cv]`);
  }
  const outs = ladder.map((_, i) => `[a${i}]`).join('');
  if (spec.audios > 0) {
    // Arrival times jitter by a few ms per packet: aresample makes each input continuous (stretching it slightly
    // while it drifts, silence for a real gap) before the mix.
    for (let i = 0; i < spec.audios; i++) parts.push(`[0:a:${i}]aresample=async=1000[ai${i}]`);
    const inputs = Array.from({ length: spec.audios }, (_, i) => `[ai${i}]`).join('');
    // Summed, not averaged (normalize=0): one voice in a quiet room keeps its level whatever the number of inputs.
    parts.push(
      `${inputs}amix=inputs=${spec.audios}:duration=longest:dropout_transition=0:normalize=0,asplit=${ladder.length}${outs}`,
    );
  } else {
    // Every microphone muted: silence, so the renditions keep an audio track across rebuilds (players expect it).
    parts.push(`anullsrc=r=48000:cl=stereo,asplit=${ladder.length}${outs}`);
  }
  return parts;
}
