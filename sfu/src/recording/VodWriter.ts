import { copyFile, link, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PLAYLIST_NAME, parseHlsFileName } from '../hls/names.ts';
import { isSingle, mediaPlaylistOf, RECORDING_INFO_NAME, RecordingInfo, segmentNameOf } from './recordingFiles.ts';
import { type PlaylistEntry, parseMediaPlaylist, playlistSeconds, renderMediaPlaylist } from './vodPlaylist.ts';

/** Where a recording is written and how it is laid out. */
export interface VodWriterOptions {
  dir: string;
  streamId: string;
  /** Segment prefixes, highest first (`seg` alone: one rendition, no master playlist). */
  renditions: string[];
  segmentSeconds: number;
}

/**
 * The files of one recording: segments hard-linked (copied across file systems) from the relay's output, a media
 * playlist per rendition, the master playlist and `recording.json`, each rewritten by a rename so the directory is
 * playable after any crash. Opening a directory that holds a recording goes on after its last segment, with a
 * discontinuity (a restarted node, a room opened again). Callers serialise calls.
 */
export class VodWriter {
  readonly #opts: VodWriterOptions;
  readonly #entries = new Map<string, PlaylistEntry[]>();
  /** Renditions whose next segment starts a new encoder run. */
  readonly #breaks = new Set<string>();
  readonly #dirty = new Set<string>();
  #nextIndex = 0;
  #bytes = 0;
  #startedAt: string | undefined;
  #endedAt: string | undefined;
  #master: string | undefined;

  private constructor(opts: VodWriterOptions) {
    this.#opts = opts;
    for (const r of opts.renditions) this.#entries.set(r, []);
  }

  /** Creates the directory, or reads back the recording it holds (then it is no longer ended). */
  static async open(opts: VodWriterOptions): Promise<VodWriter> {
    const w = new VodWriter(opts);
    await mkdir(opts.dir, { recursive: true });
    await w.#load();
    return w;
  }

  get dir(): string {
    return this.#opts.dir;
  }

  /** The recording as `recording.json` will say after the next flush. */
  get info(): RecordingInfo {
    const top = this.#entries.get(this.#opts.renditions[0] as string) ?? [];
    const now = new Date().toISOString();
    return {
      streamId: this.#opts.streamId,
      startedAt: this.#startedAt ?? now,
      updatedAt: now,
      endedAt: this.#endedAt ?? null,
      durationSeconds: Math.round(playlistSeconds(top) * 1e6) / 1e6,
      bytes: this.#bytes,
      segments: top.length,
      renditions: this.#opts.renditions,
    };
  }

  /** A number for the next segment time, shared by every rendition (segment N covers the same media in each). */
  allocateIndex(): number {
    return this.#nextIndex++;
  }

  /** The next segment of every rendition starts a new encoder run (marked `#EXT-X-DISCONTINUITY`). */
  markBreak(): void {
    for (const r of this.#opts.renditions) this.#breaks.add(r);
  }

  /** Links `source` in as segment `index` of `rendition`; rejects (ENOENT) when the source is gone already. */
  async addSegment(rendition: string, index: number, source: string, duration: number, discontinuity: boolean) {
    const entries = this.#entries.get(rendition);
    if (!entries) return;
    const uri = segmentNameOf(rendition, index);
    const target = join(this.#opts.dir, uri);
    // A crash between a link and the playlist that lists it leaves the file: this number is handed out again.
    await rm(target, { force: true });
    try {
      await link(source, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      await copyFile(source, `${target}.tmp`);
      await rename(`${target}.tmp`, target);
    }
    this.#bytes += (await stat(target)).size;
    this.#startedAt ??= new Date().toISOString();
    entries.push({ uri, duration, discontinuity: discontinuity || this.#breaks.delete(rendition) });
    this.#dirty.add(rendition);
  }

  /** Keeps the relay's master playlist (written again when it changes: a larger picture after a respawn). */
  setMaster(text: string): void {
    if (isSingle(this.#opts.renditions) || text === this.#master) return;
    this.#master = text;
    this.#dirty.add(PLAYLIST_NAME);
  }

  /** Writes what changed: media playlists, the master, then `recording.json`. */
  async flush(): Promise<void> {
    if (this.#dirty.size === 0) return;
    const { renditions, segmentSeconds, dir } = this.#opts;
    for (const r of renditions) {
      if (!this.#dirty.has(r)) continue;
      const text = renderMediaPlaylist(this.#entries.get(r) ?? [], segmentSeconds, this.#endedAt !== undefined);
      await writeAtomically(join(dir, mediaPlaylistOf(renditions, r)), text);
    }
    if (this.#dirty.has(PLAYLIST_NAME) && this.#master !== undefined) {
      await writeAtomically(join(dir, PLAYLIST_NAME), this.#master);
    }
    this.#dirty.clear();
    await writeAtomically(join(dir, RECORDING_INFO_NAME), `${JSON.stringify(this.info)}\n`);
  }

  /** Ends the recording: every media playlist becomes a VOD (`#EXT-X-ENDLIST`). */
  async finish(): Promise<RecordingInfo> {
    this.#endedAt = new Date().toISOString();
    for (const r of this.#opts.renditions) this.#dirty.add(r);
    await this.flush();
    return this.info;
  }

  async #load(): Promise<void> {
    const { dir, renditions } = this.#opts;
    const info = await readFile(join(dir, RECORDING_INFO_NAME), 'utf8').then(
      (t) => RecordingInfo.safeParse(JSON.parse(t)).data,
      () => undefined,
    );
    for (const r of renditions) {
      const text = await readFile(join(dir, mediaPlaylistOf(renditions, r)), 'utf8').catch(() => '');
      const { entries } = parseMediaPlaylist(text);
      this.#entries.set(r, entries);
      for (const e of entries) {
        const name = parseHlsFileName(e.uri);
        if (name?.kind === 'segment') this.#nextIndex = Math.max(this.#nextIndex, name.seq + 1);
      }
      if (entries.length > 0) this.#breaks.add(r);
    }
    this.#master = await readFile(join(dir, PLAYLIST_NAME), 'utf8').catch(() => undefined);
    if ([...this.#entries.values()].some((e) => e.length > 0)) {
      this.#startedAt = info?.startedAt;
      this.#bytes = info?.bytes ?? (await segmentBytes(dir, [...this.#entries.values()].flat()));
    }
  }
}

/** Replaces `path` by a rename, so a reader (or a crash) sees the old or the new file, never a part. */
async function writeAtomically(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

async function segmentBytes(dir: string, entries: PlaylistEntry[]): Promise<number> {
  const sizes = await Promise.all(
    entries.map((e) =>
      stat(join(dir, e.uri)).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  return sizes.reduce((a, b) => a + b, 0);
}
