import { EventEmitter } from 'node:events';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Rendition } from '../hls/ladder.ts';
import { PLAYLIST_NAME, parseHlsFileName, SINGLE_RENDITION } from '../hls/names.ts';
import type { Room } from '../Room.ts';
import { isSingle, mediaPlaylistOf, type RecordingInfo } from './recordingFiles.ts';
import { VodWriter } from './VodWriter.ts';
import { parseMediaPlaylist } from './vodPlaylist.ts';

/** Settings of one stream's recording. */
export interface RecorderOptions {
  room: Room;
  /** The recording's directory (`recordingDirOf`). */
  dir: string;
  /** The relay's output directory (`hlsDirOf`): what HLS viewers get is what is recorded. */
  liveDir: string;
  /** The relay's ladder: one rendition is recorded as `seg`, more under a master playlist, as the relay writes them. */
  ladder: Rendition[];
  segmentSeconds: number;
  logger: Logger;
  /** Settles when the previous recorder of this stream is done with the directory. */
  after?: Promise<void>;
}

export type RecorderEvents = {
  /** New segments are in the recording's playlists. */
  update: [RecordingInfo];
  /** The recording ended: its playlists carry `#EXT-X-ENDLIST` (or it was empty and is gone). */
  finished: [RecordingInfo];
};

/**
 * The recording of one room's stream, from the HLS relay's output: it keeps the room's relay running while the
 * stream has video (`Room.keepHls`), and takes every segment the relay lists (a hard link, before the live window
 * deletes it) into a `VodWriter` under its own numbers, at half a segment's interval and once more when a relay stops
 * (its last segments). A relay rebuilt, or an ffmpeg restarted, goes on after a discontinuity. `close()` (idempotent;
 * run when the room closes) takes what is left and ends the recording as a VOD.
 */
export class Recorder extends EventEmitter<RecorderEvents> {
  readonly dir: string;
  readonly #opts: RecorderOptions;
  readonly #log: Logger;
  readonly #renditions: string[];
  readonly #timer: NodeJS.Timeout;
  /** Everything touching the files runs here, in order. */
  #queue: Promise<void>;
  #writer: VodWriter | undefined;
  /** Of the running relay: the last live sequence number taken per rendition, and the recording's number of each. */
  #lastSeq = new Map<string, number>();
  #indexOf = new Map<number, number>();
  #closing: Promise<void> | undefined;
  readonly #onRoomClose = (): void => {
    void this.close();
  };

  /** Starts recording `opts.room` (its relay is kept from now on). */
  constructor(opts: RecorderOptions) {
    super();
    this.#opts = opts;
    this.dir = opts.dir;
    this.#log = opts.logger.child({ part: 'recorder', streamId: opts.room.streamId });
    const single = opts.ladder.length === 1;
    this.#renditions = single ? [SINGLE_RENDITION] : opts.ladder.map((r) => r.name);
    this.#queue = (opts.after ?? Promise.resolve())
      .catch(() => {})
      .then(() =>
        VodWriter.open({
          dir: opts.dir,
          streamId: opts.room.streamId,
          renditions: this.#renditions,
          segmentSeconds: opts.segmentSeconds,
        }),
      )
      .then(
        (w) => {
          this.#writer = w;
        },
        (err) => this.#log.error({ err }, 'the recording directory cannot be opened: not recording'),
      );
    opts.room.keepHls((dir) => this.#enqueue(() => this.#take(dir, true)));
    opts.room.once('close', this.#onRoomClose);
    this.#timer = setInterval(() => this.#poll(), Math.max(100, opts.segmentSeconds * 500));
    this.#log.info({ dir: opts.dir }, 'recording');
    // Closed before this recorder could listen: its 'close' is gone.
    if (opts.room.closed) void this.close();
  }

  /** The recording so far (undefined until its directory is open, or when it could not be). */
  get info(): RecordingInfo | undefined {
    return this.#writer?.info;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Takes the relay's last segments and ends the recording (an empty one is removed); safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      const { room, liveDir } = this.#opts;
      room.off('close', this.#onRoomClose);
      // A room still open keeps its relay for its HLS viewers only; what the relay wrote so far is taken first.
      if (!room.closed) {
        room.keepHls(undefined);
        if (room.hlsRelay) await this.#enqueue(() => this.#take(liveDir, false));
      }
      await this.#queue;
      const writer = this.#writer;
      if (!writer) return;
      const info = await writer.finish();
      if (info.segments === 0) await rm(writer.dir, { recursive: true, force: true });
      this.#log.info({ seconds: info.durationSeconds, bytes: info.bytes }, 'recording finished');
      this.emit('finished', info);
    })();
    return this.#closing;
  }

  #poll(): void {
    // No relay runs: nothing to take (the directory may hold a dead process's output, not this stream's now).
    if (!this.#opts.room.hlsRelay || this.#closing) return;
    void this.#enqueue(() => this.#take(this.#opts.liveDir, false));
  }

  #enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(step).catch((err) => this.#log.warn({ err }, 'recording step failed'));
    this.#queue = run;
    return run;
  }

  /** Takes the segments the relay listed since the last take; `last`: the relay is stopping (its output is final). */
  async #take(liveDir: string, last: boolean): Promise<void> {
    const writer = this.#writer;
    if (!writer) return;
    if (!isSingle(this.#renditions)) {
      const master = await readFile(join(liveDir, PLAYLIST_NAME), 'utf8').catch(() => undefined);
      if (master) writer.setMaster(master);
    }
    let added = 0;
    for (const r of this.#renditions) {
      const playlist = join(liveDir, mediaPlaylistOf(this.#renditions, r));
      const text = await readFile(playlist, 'utf8').catch(() => '');
      let gap = false;
      for (const e of parseMediaPlaylist(text).entries) {
        const name = parseHlsFileName(e.uri);
        if (name?.kind !== 'segment' || name.seq <= (this.#lastSeq.get(r) ?? -1)) continue;
        this.#lastSeq.set(r, name.seq);
        let index = this.#indexOf.get(name.seq);
        if (index === undefined) {
          index = writer.allocateIndex();
          this.#indexOf.set(name.seq, index);
        }
        try {
          await writer.addSegment(r, index, join(liveDir, e.uri), e.duration, e.discontinuity || gap);
          gap = false;
          added++;
        } catch (err) {
          // Out of the live window before it was taken (the process stalled for several segments): a hole.
          this.#log.warn({ err, segment: e.uri }, 'a segment was gone before it could be recorded');
          gap = true;
        }
      }
    }
    this.#forgetOldNumbers();
    await writer.flush();
    if (last) {
      // The next relay numbers its own segments and starts a new encoder run.
      this.#lastSeq = new Map();
      this.#indexOf = new Map();
      writer.markBreak();
    }
    if (added > 0) this.emit('update', writer.info);
  }

  /** Sequence numbers every rendition has passed are not asked for again. */
  #forgetOldNumbers(): void {
    const passed = Math.min(...this.#renditions.map((r) => this.#lastSeq.get(r) ?? -1));
    for (const seq of this.#indexOf.keys()) if (seq < passed) this.#indexOf.delete(seq);
  }
}
