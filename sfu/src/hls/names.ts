// File names of a stream's HLS output, shared by the relay that writes them and the readers that serve them (the HLS
// edge imports this through `@persecond/sfu/hls-reader`, so it must not load mediasoup or zod).

/** Name of the playlist a player opens: the master playlist of a ladder, the media playlist of a single rendition. */
export const PLAYLIST_NAME = 'index.m3u8';

/** Segment prefix of a single-rendition output (`seg_00001.ts`, listed by `index.m3u8` itself). */
export const SINGLE_RENDITION = 'seg';

/** A rendition name: lower-case letters and digits (it names files), never `index`. */
export const RENDITION_NAME = /^[a-z0-9]{1,16}$/;

const PLAYLIST = /^([a-z0-9]{1,16})\.m3u8$/;
const SEGMENT = /^([a-z0-9]{1,16})_(\d{5,10})\.ts$/;

/** What a file name of the HLS output is: a playlist, or segment `seq` of a rendition. */
export type HlsFileName = { kind: 'playlist' } | { kind: 'segment'; rendition: string; seq: number };

/**
 * Parses a file name of the HLS output: `index.m3u8` (master or single playlist), `<rendition>.m3u8` (a variant's
 * media playlist), `<rendition>_<seq>.ts` (a segment; segments of one `seq` hold the same media time in every
 * rendition, the encoder cuts them at the same keyframes). Undefined for anything else, so no name escapes a directory.
 */
export function parseHlsFileName(file: string): HlsFileName | undefined {
  if (PLAYLIST.test(file)) return { kind: 'playlist' };
  const seg = SEGMENT.exec(file);
  if (!seg) return undefined;
  return { kind: 'segment', rendition: seg[1] as string, seq: Number(seg[2]) };
}

/** The media playlist of a ladder's rendition. */
export function variantPlaylistName(rendition: string): string {
  return `${rendition}.m3u8`;
}
