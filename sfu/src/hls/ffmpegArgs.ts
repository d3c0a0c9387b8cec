import { join } from 'node:path';
import { sdpInputArgs } from '../ffmpeg/sdp.ts';
import { type ComposeSpec, composeGraph } from './composeFilter.ts';
import type { Rendition } from './ladder.ts';
import { PLAYLIST_NAME, SINGLE_RENDITION } from './names.ts';

/** Where ffmpeg reads media from: an SDP document (written to its stdin) or raw input arguments. */
export type FfmpegInput = { kind: 'sdp'; sdp: string } | { kind: 'args'; args: string[] };

/** What one ffmpeg HLS encoder is asked to do. */
export interface HlsEncodeSpec {
  input: FfmpegInput;
  /** Renditions, highest first; one: a single media playlist, more: a master playlist over one per rendition. */
  ladder: Rendition[];
  /** Whether the input has audio to map (a stream may be video only; default true, optional in the mapping). */
  audio?: boolean;
  segmentSeconds: number;
  dir: string;
  /**
   * Sequence number of the first segment (ffmpeg's default: 0). After a crash ffmpeg goes on from its playlists
   * (`append_list`) instead.
   */
  startNumber?: number;
  /**
   * Compose several RTP inputs of an SDP into one picture and mix their audio (`composeGraph`) instead of encoding the
   * one video and audio. Their timestamps are then the arrival times (`use_wallclock_as_timestamps`): publishers'
   * clocks and RTCP differ, and the stacking lines inputs up by timestamp.
   */
  compose?: ComposeSpec;
}

const AUDIO_KBPS = 96;

/**
 * ffmpeg's arguments for live HLS (H.264 + AAC in MPEG-TS segments) from one decode of the input: the video is split
 * and scaled once per rendition (never up), each rendition encoded with the same forced keyframes (one per segment,
 * no scene cuts) so every rendition cuts its segment N at the same media time and a player switches between them
 * seamlessly. Audio is encoded per rendition and muxed into its segments (a player fetches one file per second).
 */
export function hlsEncodeArgs(spec: HlsEncodeSpec): string[] {
  const { input, ladder, segmentSeconds, dir, compose } = spec;
  const audio = compose ? true : (spec.audio ?? true);
  const inputArgs =
    input.kind === 'args' ? input.args : sdpInputArgs(compose ? ['-use_wallclock_as_timestamps', '1'] : []);
  const audioIn = input.kind === 'sdp' ? '0:a:0' : '1:a:0';
  const n = ladder.length;
  // x264 needs even sizes: a simulcast quarter layer of 960x540 is 240x135.
  const scales = ladder.map((r, i) => `[v${i}]scale=-2:'trunc(min(${r.maxHeight},ih)/2)*2'[o${i}]`);
  const source = compose ? [...composeGraph(compose, ladder), '[cv]'] : ['[0:v:0]'];
  const filter = [
    ...source.slice(0, -1),
    `${source.at(-1)}split=${n}${ladder.map((_, i) => `[v${i}]`).join('')}`,
    ...scales,
  ].join(';');
  const maps: string[] = [];
  ladder.forEach((_, i) => {
    maps.push('-map', `[o${i}]`);
    if (!audio) return;
    // A composed mix (or silence) is split once per rendition; an input is mapped again for each, optional when the
    // caller does not know (raw input args): then a video-only input still encodes.
    if (compose) maps.push('-map', `[a${i}]`);
    else maps.push('-map', spec.audio === undefined ? `${audioIn}?` : audioIn);
  });
  // Quality-driven (x264's default CRF) under a cap: the cap is also the BANDWIDTH the master playlist announces.
  const rates = ladder.flatMap((r, i) => [
    `-maxrate:v:${i}`,
    `${r.videoKbps}k`,
    `-bufsize:v:${i}`,
    `${r.videoKbps * 2}k`,
  ]);
  const single = n === 1;
  const output = single
    ? ['-hls_segment_filename', join(dir, `${SINGLE_RENDITION}_%05d.ts`), join(dir, PLAYLIST_NAME)]
    : [
        '-var_stream_map',
        ladder.map((r, i) => (audio ? `v:${i},a:${i},name:${r.name}` : `v:${i},name:${r.name}`)).join(' '),
        '-master_pl_name',
        PLAYLIST_NAME,
        '-hls_segment_filename',
        join(dir, '%v_%05d.ts'),
        join(dir, '%v.m3u8'),
      ];
  return [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'warning',
    ...inputArgs,
    '-filter_complex',
    filter,
    ...maps,
    // RTP timestamps make ffmpeg guess a huge constant frame rate and duplicate frames to fill it: keep the
    // source's own frame timing instead.
    '-fps_mode:v',
    'vfr',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-tune',
    'zerolatency',
    '-profile:v',
    'main',
    '-pix_fmt',
    'yuv420p',
    '-force_key_frames',
    `expr:gte(t,n_forced*${segmentSeconds})`,
    '-sc_threshold',
    '0',
    ...rates,
    '-c:a',
    'aac',
    '-b:a',
    `${AUDIO_KBPS}k`,
    '-ac',
    '2',
    '-ar',
    '48000',
    '-f',
    'hls',
    '-hls_time',
    String(segmentSeconds),
    '-hls_list_size',
    '6',
    '-start_number',
    String(spec.startNumber ?? 0),
    '-hls_delete_threshold',
    '2',
    // append_list continues numbering across restarts; discont_start marks the restart for players.
    '-hls_flags',
    'delete_segments+independent_segments+omit_endlist+append_list+discont_start+temp_file',
    ...output,
  ];
}
