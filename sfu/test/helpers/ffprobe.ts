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

/** The first video stream's height and start time (s) of a media file, from the real ffprobe. */
export async function probeVideo(file: string): Promise<{ height: number; startTime: number }> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=height,start_time',
    '-of',
    'json',
    file,
  ]);
  const s = (JSON.parse(stdout) as { streams: { height: number; start_time: string }[] }).streams[0];
  return { height: s?.height ?? 0, startTime: Number(s?.start_time ?? Number.NaN) };
}

/** A master playlist's variants: their URI and attributes (BANDWIDTH, RESOLUTION, CODECS). */
export function parseMaster(text: string): { uri: string; attrs: Record<string, string> }[] {
  const lines = text.split('\n').map((l) => l.trim());
  const out: { uri: string; attrs: Record<string, string> }[] = [];
  lines.forEach((l, i) => {
    if (!l.startsWith('#EXT-X-STREAM-INF:')) return;
    const attrs: Record<string, string> = {};
    for (const m of l.slice('#EXT-X-STREAM-INF:'.length).matchAll(/([A-Z-]+)=("[^"]*"|[^,]*)/g)) {
      attrs[m[1] as string] = (m[2] as string).replace(/^"|"$/g, '');
    }
    const uri = lines.slice(i + 1).find((u) => u !== '' && !u.startsWith('#'));
    if (uri) out.push({ uri, attrs });
  });
  return out;
}

/** The EXTINF durations of a media playlist, by segment name. */
export function segmentDurations(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let duration: number | undefined;
  for (const l of text.split('\n')) {
    if (l.startsWith('#EXTINF:')) duration = Number.parseFloat(l.slice('#EXTINF:'.length));
    else if (l !== '' && !l.startsWith('#') && duration !== undefined) out.set(l.trim(), duration);
  }
  return out;
}
