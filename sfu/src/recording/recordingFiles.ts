import { join } from 'node:path';
import { z } from 'zod';
import { PLAYLIST_NAME, SINGLE_RENDITION, variantPlaylistName } from '../hls/names.ts';

/** The summary of a recording, next to its playlists (rewritten by a rename after every change). */
export const RECORDING_INFO_NAME = 'recording.json';

/** What a recording holds, as `recording.json` says. */
export const RecordingInfo = z.object({
  streamId: z.string(),
  /** ISO times: the first segment's arrival, the last change, and the end (null while recording or after a crash). */
  startedAt: z.string(),
  updatedAt: z.string(),
  endedAt: z.string().nullable(),
  /** Seconds of media in the first (highest) rendition. */
  durationSeconds: z.number().nonnegative(),
  /** Bytes of every segment of every rendition. */
  bytes: z.number().int().nonnegative(),
  /** Segments of the first rendition. */
  segments: z.number().int().nonnegative(),
  /** Segment prefixes, highest first: the ladder's names, or `seg` alone for a one-rendition recording. */
  renditions: z.array(z.string()).min(1),
});
export type RecordingInfo = z.infer<typeof RecordingInfo>;

const STREAM_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Directory of one stream's recording under `root`, or undefined when the id is unfit for a path. */
export function recordingDirOf(root: string, streamId: string): string | undefined {
  return STREAM_ID.test(streamId) ? join(root, streamId) : undefined;
}

/** The media playlist of one rendition of a recording laid out like the relay's output (`hls/names.ts`). */
export function mediaPlaylistOf(renditions: readonly string[], rendition: string): string {
  return isSingle(renditions) ? PLAYLIST_NAME : variantPlaylistName(rendition);
}

/** A one-rendition recording has no master playlist: `index.m3u8` lists its `seg_NNNNN.ts` itself. */
export function isSingle(renditions: readonly string[]): boolean {
  return renditions.length === 1 && renditions[0] === SINGLE_RENDITION;
}

/** A segment's name in a recording: `<rendition>_<index>.ts`, numbered from 0 across the whole recording. */
export function segmentNameOf(rendition: string, index: number): string {
  return `${rendition}_${String(index).padStart(5, '0')}.ts`;
}
