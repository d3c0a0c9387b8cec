import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Codec names per stream type of a media file, from the real ffprobe. */
export async function probeCodecs(file: string): Promise<{ video: string[]; audio: string[]; duration: number }> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'stream=codec_type,codec_name:format=duration',
    '-of',
    'json',
    file,
  ]);
  const info = JSON.parse(stdout) as {
    streams: { codec_type: string; codec_name: string }[];
    format: { duration?: string };
  };
  return {
    video: info.streams.filter((s) => s.codec_type === 'video').map((s) => s.codec_name),
    audio: info.streams.filter((s) => s.codec_type === 'audio').map((s) => s.codec_name),
    duration: Number(info.format.duration ?? 0),
  };
}

/** Segment file names listed in an HLS media playlist, and its media sequence number. */
export function parsePlaylist(text: string): { segments: string[]; mediaSequence: number } {
  const seq = /#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text);
  return {
    segments: text.split('\n').filter((l) => l.length > 0 && !l.startsWith('#')),
    mediaSequence: seq ? Number(seq[1]) : 0,
  };
}
