import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseHlsFileName } from './names.ts';

// Served on its own (`@persecond/sfu/hls-reader`) so an HLS edge process reads files without loading mediasoup.
export { type HlsFileName, PLAYLIST_NAME, parseHlsFileName, variantPlaylistName } from './names.ts';

/** A file of a stream's HLS output, ready to serve. */
export interface HlsFile {
  body: Buffer;
  contentType: 'application/vnd.apple.mpegurl' | 'video/mp2t';
  /** Playlists change every segment; segments never change. */
  cacheControl: string;
}

const STREAM_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Directory of one stream's HLS output under `rootDir`, or undefined when the id is unfit for a path. */
export function hlsDirOf(rootDir: string, streamId: string): string | undefined {
  return STREAM_ID.test(streamId) ? join(rootDir, streamId) : undefined;
}

/** Reads playlists and segments from the HLS directory; only well-formed names, so no path escapes it. */
export class HlsReader {
  constructor(readonly rootDir: string) {}

  /** Directory holding one stream's output (undefined for an unusable stream id). */
  dirOf(streamId: string): string | undefined {
    return hlsDirOf(this.rootDir, streamId);
  }

  /**
   * A playlist (master or a rendition's) or a segment of a stream, or null when the name is invalid
   * (`parseHlsFileName`) or the file does not exist (yet).
   */
  async read(streamId: string, fileName: string): Promise<HlsFile | null> {
    const dir = this.dirOf(streamId);
    const name = parseHlsFileName(fileName);
    if (!dir || !name) return null;
    const isPlaylist = name.kind === 'playlist';
    try {
      const body = await readFile(join(dir, fileName));
      return isPlaylist
        ? { body, contentType: 'application/vnd.apple.mpegurl', cacheControl: 'no-cache' }
        : { body, contentType: 'video/mp2t', cacheControl: 'private, max-age=60' };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }
}
