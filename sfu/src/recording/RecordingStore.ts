import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { RECORDING_INFO_NAME, RecordingInfo, recordingDirOf } from './recordingFiles.ts';
import { VodWriter } from './VodWriter.ts';

/** Where the recordings live and how long / how much of them is kept. */
export interface RecordingStoreOptions {
  root: string;
  /** Bytes all recordings may take; the oldest finished ones are deleted beyond it (0: no limit). */
  maxBytes: number;
  /** How long a finished recording is kept (0: for ever). */
  retentionMs: number;
  segmentSeconds: number;
  /** Streams being recorded now: never deleted nor finished by the store. */
  active: () => ReadonlySet<string>;
  logger: Logger;
  /** How often the limits are applied besides at each recording's end. */
  sweepEveryMs?: number;
}

const SWEEP_EVERY_MS = 3_600_000;

/**
 * The recordings of a node (`<root>/<streamId>/`): listing, reading one's `recording.json`, applying the retention
 * and size limits (`sweep`: expired, then oldest first, finished recordings only) and ending recordings a dead
 * process left unfinished (`recover`). `close()` stops the periodic sweep.
 */
export class RecordingStore {
  readonly root: string;
  readonly #opts: RecordingStoreOptions;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<string[]> | undefined;

  constructor(opts: RecordingStoreOptions) {
    this.#opts = opts;
    this.root = opts.root;
    this.#log = opts.logger.child({ part: 'recordings' });
  }

  /** Applies the limits now and then every `sweepEveryMs` until `close()`. */
  startSweeping(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.sweep(), this.#opts.sweepEveryMs ?? SWEEP_EVERY_MS);
    this.#timer.unref();
    void this.sweep();
  }

  /** Stops the periodic sweep and waits for one in progress; safe to call twice. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sweeping;
  }

  /** A stream's recording as its `recording.json` says, or null when there is none (or the id is unusable). */
  async read(streamId: string): Promise<RecordingInfo | null> {
    const dir = recordingDirOf(this.root, streamId);
    if (!dir) return null;
    try {
      const parsed = RecordingInfo.safeParse(JSON.parse(await readFile(join(dir, RECORDING_INFO_NAME), 'utf8')));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }

  /** Every recording with a readable `recording.json`, oldest first. */
  async list(): Promise<RecordingInfo[]> {
    const ids = await readdir(this.root).catch(() => [] as string[]);
    const infos = await Promise.all(ids.map((id) => this.read(id)));
    return infos.filter((i) => i !== null).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }

  /**
   * Deletes a finished recording (its creator deleted the replay): its directory is gone when this resolves. Resolves
   * false while the stream is being recorded (nothing deleted) and true otherwise, also when there was nothing.
   */
  async remove(streamId: string): Promise<boolean> {
    const dir = recordingDirOf(this.root, streamId);
    if (!dir) return true;
    if (this.#opts.active().has(streamId)) return false;
    await rm(dir, { recursive: true, force: true });
    this.#log.info({ streamId }, 'recording deleted');
    return true;
  }

  /**
   * Deletes finished recordings past the retention time, then the oldest finished ones while all recordings take
   * more than the size limit. Recordings being made are never deleted (alone they may exceed the limit). Resolves
   * with the deleted stream ids; concurrent calls share one sweep.
   */
  sweep(): Promise<string[]> {
    this.#sweeping ??= this.#sweep().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  /**
   * Ends the recordings a process that died left unfinished (no `#EXT-X-ENDLIST`, no `endedAt`) and not being made
   * now, and removes directories that never got a playlist. Resolves with the stream ids ended.
   */
  async recover(): Promise<string[]> {
    const active = this.#opts.active();
    const ids = await readdir(this.root).catch(() => [] as string[]);
    const ended: string[] = [];
    for (const id of ids) {
      const dir = recordingDirOf(this.root, id);
      if (!dir || active.has(id)) continue;
      const info = await this.read(id);
      if (!info) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      if (info.endedAt !== null) continue;
      const { renditions } = info;
      const writer = await VodWriter.open({ dir, streamId: id, renditions, segmentSeconds: this.#opts.segmentSeconds });
      await writer.finish();
      ended.push(id);
    }
    if (ended.length > 0) this.#log.info({ streams: ended }, 'ended recordings left unfinished');
    return ended;
  }

  async #sweep(): Promise<string[]> {
    const { maxBytes, retentionMs } = this.#opts;
    const active = this.#opts.active();
    const all = await this.list();
    const now = Date.now();
    const deleted: string[] = [];
    const remove = async (info: RecordingInfo) => {
      const dir = recordingDirOf(this.root, info.streamId);
      if (dir) await rm(dir, { recursive: true, force: true });
      deleted.push(info.streamId);
    };
    const finished = all
      .filter((i) => i.endedAt !== null && !active.has(i.streamId))
      .sort((a, b) => (a.endedAt as string).localeCompare(b.endedAt as string));
    let total = all.reduce((n, i) => n + i.bytes, 0);
    for (const info of finished) {
      const expired = retentionMs > 0 && now - Date.parse(info.endedAt as string) > retentionMs;
      const over = maxBytes > 0 && total > maxBytes;
      if (!expired && !over) continue;
      await remove(info);
      total -= info.bytes;
    }
    if (deleted.length > 0) this.#log.info({ streams: deleted, bytesLeft: total }, 'recordings deleted');
    if (maxBytes > 0 && total > maxBytes) this.#log.warn({ bytes: total, maxBytes }, 'recordings being made exceed');
    return deleted;
  }
}
