// A picture from a relay's live HLS output, decoded by the real ffmpeg, to check what HLS viewers see.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parsePlaylist } from './ffprobe.ts';
import type { Rgb } from './stagePeers.ts';

const run = promisify(execFile);

/** Columns and rows of the grid a frame is averaged down to (16:9). */
export const GRID_W = 64;
export const GRID_H = 36;

/** The first frame of a segment: its real size, and its colours averaged down to a 64x36 grid. */
export interface DecodedFrame {
  segment: string;
  /** Sequence number of the segment (from its name). */
  seq: number;
  width: number;
  height: number;
  /** Colour of grid cell (x, y), 0 ≤ x < 64, 0 ≤ y < 36. */
  at(x: number, y: number): Rgb;
}

/** The first frame of the newest segment of a single-rendition output in `dir` (undefined before any). */
export async function newestFrame(dir: string): Promise<DecodedFrame | undefined> {
  const playlist = await readFile(join(dir, 'index.m3u8'), 'utf8').catch(() => '');
  const segment = parsePlaylist(playlist).segments.at(-1);
  if (!segment) return undefined;
  const file = join(dir, segment);
  try {
    const probe = await run('ffprobe', [
      ...['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file],
    ]);
    // MPEG-TS lists the stream again under its program: the first line is enough.
    const [width, height] = (probe.stdout.trim().split('\n')[0] ?? '').split(',').map(Number) as [number, number];
    const { stdout } = await run(
      'ffmpeg',
      [
        ...['-v', 'error', '-i', file, '-frames:v', '1', '-vf', `scale=${GRID_W}:${GRID_H}:flags=area`],
        ...['-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
      ],
      { encoding: 'buffer' },
    );
    if (stdout.length < GRID_W * GRID_H * 3) return undefined;
    const at = (x: number, y: number): Rgb => {
      const i = (y * GRID_W + x) * 3;
      return { r: stdout[i] as number, g: stdout[i + 1] as number, b: stdout[i + 2] as number };
    };
    return { segment, seq: Number(/_(\d+)\.ts$/.exec(segment)?.[1]), width, height, at };
  } catch {
    // Deleted by the live window between the listing and the read: the next poll takes a newer one.
    return undefined;
  }
}

/** The name of a clearly saturated colour, 'black', or 'other'. */
export function colourName({ r, g, b }: Rgb): 'red' | 'green' | 'blue' | 'black' | 'other' {
  if (r < 50 && g < 50 && b < 50) return 'black';
  if (r > 140 && g < 100 && b < 100) return 'red';
  if (g > 140 && r < 110 && b < 110) return 'green';
  if (b > 140 && r < 100 && g < 100) return 'blue';
  return 'other';
}

/** Colour names of grid cells, to compare with what a layout should show there. */
export function coloursAt(frame: DecodedFrame, points: readonly [number, number][]): string[] {
  return points.map(([x, y]) => colourName(frame.at(x, y)));
}
