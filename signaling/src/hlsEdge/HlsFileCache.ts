import { type HlsFile, type HlsReader, parseHlsFileName } from '@persecond/sfu/hls-reader';

/** Sizes and lifetimes of the edge's file cache. */
export interface HlsFileCacheOptions {
  /** Bytes of media segments kept (least recently used dropped first). */
  maxSegmentBytes: number;
  /** How long a read playlist is served before it is read again (it changes once per segment). */
  playlistTtlMs: number;
}

interface CachedPlaylist {
  file: HlsFile;
  expiresAt: number;
}

/**
 * Playlists and segments of the HLS output in memory: segments never change, so they are kept until evicted by
 * size; a playlist is kept for a short time. Concurrent reads of one missing file share one disk read; missing files
 * are not remembered (they appear soon).
 */
export class HlsFileCache {
  readonly #segments = new Map<string, HlsFile>();
  readonly #playlists = new Map<string, CachedPlaylist>();
  readonly #reading = new Map<string, Promise<HlsFile | null>>();
  #segmentBytes = 0;
  #hits = 0;
  #misses = 0;

  constructor(
    private readonly reader: HlsReader,
    private readonly options: HlsFileCacheOptions,
  ) {}

  /** Reads answered from memory and from disk, and bytes of segments held. */
  get stats(): { hits: number; misses: number; segmentBytes: number } {
    return { hits: this.#hits, misses: this.#misses, segmentBytes: this.#segmentBytes };
  }

  /** The playlist or a segment of a stream, or null when the name is invalid or the file does not exist (yet). */
  get(streamId: string, file: string, now = Date.now()): Promise<HlsFile | null> | HlsFile {
    const key = `${streamId}/${file}`;
    const playlist = isPlaylist(file);
    if (playlist) {
      const cached = this.#playlists.get(key);
      if (cached && cached.expiresAt > now) {
        this.#hits++;
        return cached.file;
      }
    } else {
      const cached = this.#segments.get(key);
      if (cached) {
        this.#hits++;
        // Re-inserted: a Map iterates in insertion order, so the first entry is the least recently used.
        this.#segments.delete(key);
        this.#segments.set(key, cached);
        return cached;
      }
    }
    this.#misses++;
    const pending = this.#reading.get(key);
    if (pending) return pending;
    const read = this.reader
      .read(streamId, file)
      .then((found) => {
        if (found) this.#keep(key, playlist, found);
        return found;
      })
      .finally(() => this.#reading.delete(key));
    this.#reading.set(key, read);
    return read;
  }

  /** Forgets everything. */
  clear(): void {
    this.#segments.clear();
    this.#playlists.clear();
    this.#segmentBytes = 0;
  }

  #keep(key: string, playlist: boolean, found: HlsFile): void {
    if (playlist) {
      if (this.#playlists.size >= 10_000) this.#dropExpiredPlaylists();
      this.#playlists.set(key, { file: found, expiresAt: Date.now() + this.options.playlistTtlMs });
      return;
    }
    if (found.body.length > this.options.maxSegmentBytes) return;
    this.#segments.set(key, found);
    this.#segmentBytes += found.body.length;
    for (const [oldKey, old] of this.#segments) {
      if (this.#segmentBytes <= this.options.maxSegmentBytes) break;
      this.#segments.delete(oldKey);
      this.#segmentBytes -= old.body.length;
    }
  }

  #dropExpiredPlaylists(): void {
    const now = Date.now();
    for (const [key, p] of this.#playlists) if (p.expiresAt <= now) this.#playlists.delete(key);
  }
}

/** The master playlist or a rendition's: rewritten as the stream goes on, so kept only briefly. */
function isPlaylist(file: string): boolean {
  return parseHlsFileName(file)?.kind === 'playlist';
}
