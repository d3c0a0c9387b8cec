import { join } from 'node:path';
import { sdpInputArgs } from '../ffmpeg/sdp.ts';
import { hlsDirOf } from '../hls/HlsReader.ts';

/**
 * The JPEG of a stream's live thumbnail under `dir`: `<streamId>.jpg`, or undefined when the id is unfit for a file
 * name (the same ids as the HLS directories).
 */
export function thumbnailFileOf(dir: string, streamId: string): string | undefined {
  return hlsDirOf(dir, streamId) === undefined ? undefined : join(dir, `${streamId}.jpg`);
}

/**
 * ffmpeg's arguments for a live thumbnail from the RTP described on its stdin: only keyframes are decoded (the
 * thumbnailer asks for one per picture, the frames between cost nothing), scaled to `height` (rounded down to even;
 * the width follows the aspect ratio, even too) and written as one JPEG, `file`, replaced at each picture by a rename
 * so a reader never sees half a file.
 */
export function thumbnailArgs(file: string, height: number): string[] {
  const h = Math.max(2, Math.floor(height / 2) * 2);
  return [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'warning',
    // The picture of a previous run (a restart, the room's previous producer) is replaced.
    '-y',
    ...sdpInputArgs(['-skip_frame', 'nokey', '-threads', '1']),
    '-map',
    '0:v:0',
    '-an',
    '-vf',
    `scale=-2:${h}`,
    // One picture per decoded keyframe: RTP timestamps would make ffmpeg guess a frame rate and repeat pictures.
    '-fps_mode:v',
    'vfr',
    '-c:v',
    'mjpeg',
    '-q:v',
    '5',
    '-f',
    'image2',
    '-update',
    '1',
    '-atomic_writing',
    '1',
    file,
  ];
}
