// Reading a recording the way a player would: ffprobe through its playlists, and what the playlists list.
import { execFile } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseMediaPlaylist } from '../../src/index.ts';

const run = promisify(execFile);

/** A recording's media playlist: its segments, whether it is a VOD with ENDLIST, and its seconds. */
export async function readRecordingPlaylist(file: string) {
  const text = await readFile(file, 'utf8');
  const { entries, ended } = parseMediaPlaylist(text);
  return {
    text,
    entries,
    ended,
    seconds: entries.reduce((s, e) => s + e.duration, 0),
    discontinuities: entries.filter((e) => e.discontinuity).length,
  };
}

/**
 * Video packets ffprobe reads through `playlist` from its first segment. An EVENT playlist without ENDLIST is a live
 * one to ffmpeg: it starts at the first segment (`-live_start_index 0`) and gives up after reloads without news
 * (its counter counts the first segment too, so 1 would stop there).
 */
export async function probePacketsThrough(playlist: string): Promise<number> {
  const { stdout } = await run(
    'ffprobe',
    [
      ['-v', 'error', '-live_start_index', '0', '-m3u8_hold_counters', '2'],
      ['-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'json'],
      [playlist],
    ].flat(),
    { timeout: 60_000 },
  );
  const s = (JSON.parse(stdout) as { streams: { nb_read_packets?: string }[] }).streams[0];
  return Number(s?.nb_read_packets ?? 0);
}

/** Video packets of one media file, read on its own. */
export async function probePackets(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-select_streams', 'v:0', '-count_packets'],
    ...['-show_entries', 'stream=nb_read_packets', '-of', 'json', file],
  ]);
  const s = (JSON.parse(stdout) as { streams: { nb_read_packets?: string }[] }).streams[0];
  return Number(s?.nb_read_packets ?? 0);
}

/** Paths under `dir` this process holds open (its /proc/self/fd links). */
export async function openFilesUnder(dir: string): Promise<string[]> {
  const fds = await readdir('/proc/self/fd');
  const targets = await Promise.all(fds.map((fd) => readlink(join('/proc/self/fd', fd)).catch(() => '')));
  return targets.filter((t) => t.startsWith(dir));
}
