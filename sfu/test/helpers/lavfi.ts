import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FfmpegHls, parseHlsLadder } from '../../src/index.ts';

/** ffmpeg's own test sources (picture `size` at 25 fps and a tone), in real time: they stand in for the RTP input. */
export function lavfiInput(size: string): string[] {
  return [
    '-re',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size}:rate=25`,
    '-re',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
  ];
}

/** A started FfmpegHls encoding the test sources with `ladder` into `<root>/s1`, 1-s segments; `close` removes it. */
export async function startLavfiEncoder(
  ladder: string,
  size: string,
): Promise<{ root: string; enc: FfmpegHls; close: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'sfu-hls-'));
  const enc = new FfmpegHls({
    ffmpegPath: 'ffmpeg',
    dir: join(root, 's1'),
    input: { kind: 'args', args: lavfiInput(size) },
    ladder: parseHlsLadder(ladder),
    segmentSeconds: 1,
    logger: pino({ level: 'silent' }),
  });
  await enc.start();
  return {
    root,
    enc,
    close: async () => {
      await enc.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
