import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { SfuConfig } from './config.ts';
import { SfuClosedError } from './errors.ts';
import { HlsReader, hlsDirOf } from './hls/HlsReader.ts';
import { createSfuLogger } from './logger.ts';
import { createSfuMetrics, type SfuMetrics } from './metrics.ts';
import { Room, type RoomCloseReason, type ViewerFlow } from './Room.ts';
import { Recorder } from './recording/Recorder.ts';
import { RecordingStore } from './recording/RecordingStore.ts';
import { recordingDirOf } from './recording/recordingFiles.ts';
import { RoomThumbnail } from './thumbnails/RoomThumbnail.ts';
import { thumbnailFileOf } from './thumbnails/thumbnailArgs.ts';
import { type WorkerDiedEvent, WorkerPool, type WorkerReplacedEvent } from './WorkerPool.ts';

/** Snapshot for /healthz. */
export interface SfuHealth {
  /** True while every worker slot has a live worker. */
  ok: boolean;
  workers: number;
  pids: number[];
  rooms: number;
  /** Live consumers per worker slot. */
  consumers: number[];
  workerRestarts: number;
}

export type SfuEvents = {
  /** A worker process died; rooms on it close (each reported through 'roomClosed'). */
  workerDied: [WorkerDiedEvent];
  /** A died worker was replaced. */
  workerReplaced: [WorkerReplacedEvent];
  roomClosed: [{ streamId: string; reason: RoomCloseReason }];
};

/** How a stream's room is opened (by its first `openRoom` call; later calls share that room). */
export interface OpenRoomOptions {
  /** Record the stream (default: `config.recording`); the creator's choice, made before going live. */
  recording?: boolean;
}

/** Optional collaborators of an Sfu. */
export interface SfuDeps {
  logger?: Logger;
}

/** The media plane: a worker pool and one Room per live stream. */
export class Sfu extends EventEmitter<SfuEvents> {
  readonly config: SfuConfig;
  readonly logger: Logger;
  readonly metrics: SfuMetrics;
  /** Serves HLS playlists and segments from `config.hlsDir`. */
  readonly hls: HlsReader;
  /** The recordings of this node (`config.recordingDir`): listing, limits. */
  readonly recordings: RecordingStore;
  readonly #rooms = new Map<string, Promise<Room>>();
  readonly #open = new Map<string, Room>();
  readonly #thumbnails = new Map<string, RoomThumbnail>();
  readonly #recorders = new Map<string, Recorder>();
  #pool: WorkerPool | undefined;
  #closing: Promise<void> | undefined;

  private constructor(config: SfuConfig, logger: Logger) {
    super();
    this.config = config;
    this.logger = logger;
    this.hls = new HlsReader(config.hlsDir);
    this.recordings = new RecordingStore({
      root: config.recordingDir,
      maxBytes: config.recordingMaxBytes,
      retentionMs: config.recordingRetentionMs,
      segmentSeconds: config.hlsSegmentSeconds,
      active: () => new Set(this.#recorders.keys()),
      logger,
    });
    this.metrics = createSfuMetrics(
      () => this.#pool,
      () => ({
        rooms: this.#open.size,
        hlsRelays: [...this.#open.values()].filter((r) => r.hlsRelay).length,
      }),
    );
  }

  /** Starts the worker pool. */
  static async create(config: SfuConfig, deps: SfuDeps = {}): Promise<Sfu> {
    const sfu = new Sfu(config, deps.logger ?? createSfuLogger(config));
    // Recordings a killed process left without an end are playable already; ending them makes them VODs.
    await sfu.recordings.recover().catch((err) => sfu.logger.warn({ err }, 'unfinished recordings not ended'));
    sfu.recordings.startSweeping();
    const pool = await WorkerPool.create({ numWorkers: config.numWorkers, logger: sfu.logger });
    sfu.#pool = pool;
    pool.on('workerDied', (e) => sfu.emit('workerDied', e));
    pool.on('workerReplaced', (e) => {
      sfu.metrics.workerRestarts.inc();
      sfu.emit('workerReplaced', e);
    });
    return sfu;
  }

  /** The worker pool (exposed for diagnostics and tests). */
  get pool(): WorkerPool {
    if (!this.#pool) throw new SfuClosedError();
    return this.#pool;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Worker and room counts for /healthz. */
  health(): SfuHealth {
    const workers = this.#pool?.workers ?? [];
    const live = workers.filter((w) => !w.worker.closed);
    return {
      ok: !this.#closing && live.length === this.config.numWorkers,
      workers: live.length,
      pids: live.map((w) => w.worker.pid),
      rooms: this.#open.size,
      consumers: workers.map((w) => w.consumers),
      workerRestarts: this.#pool?.restarts ?? 0,
    };
  }

  /** The room of a stream, created on first call (concurrent calls share one room, and its first call's options). */
  openRoom(streamId: string, opts: OpenRoomOptions = {}): Promise<Room> {
    if (this.#closing) return Promise.reject(new SfuClosedError());
    let p = this.#rooms.get(streamId);
    if (!p) {
      p = Room.create(streamId, this.pool, this.config, this.logger, (room) => this.#forget(room));
      this.#rooms.set(streamId, p);
      p.then(
        (room) => {
          this.#open.set(streamId, room);
          room.once('close', ({ reason }) => this.emit('roomClosed', { streamId, reason }));
          room.on('hlsRestart', () => this.metrics.hlsRestarts.inc());
          room.on('capacityFull', () => this.metrics.capacityFull.inc());
          this.#startThumbnail(room);
          if (opts.recording ?? this.config.recording) this.#startRecording(room);
        },
        () => this.#rooms.delete(streamId),
      );
    }
    return p;
  }

  /** The open room of a stream, if any. */
  getRoom(streamId: string): Room | undefined {
    return this.#open.get(streamId);
  }

  /** Ids of the streams with an open room on this SFU. */
  openStreamIds(): string[] {
    return [...this.#open.keys()];
  }

  /** Closes a stream's room (no-op if none), its thumbnail and recording with it (the recording ends as a VOD). */
  async closeRoom(streamId: string): Promise<void> {
    const thumbnail = this.#thumbnails.get(streamId);
    const recorder = this.#recorders.get(streamId);
    await this.#open.get(streamId)?.close('closed');
    await thumbnail?.close();
    if (!recorder) return;
    await recorder.close();
    // The limits applied after this recording's end (the sweep its end started, shared).
    await this.recordings.sweep();
  }

  /** The recorder of a stream with an open room, if it is recorded (diagnostics and tests). */
  recorder(streamId: string): Recorder | undefined {
    return this.#recorders.get(streamId);
  }

  /**
   * Path of the live thumbnail of a stream with an open room (a JPEG, replaced by a rename at each picture), or null
   * when it has none (yet), or thumbnails are off (`THUMBNAIL_INTERVAL_SECONDS=0`).
   */
  thumbnail(streamId: string): string | null {
    const thumbnail = this.#thumbnails.get(streamId);
    return thumbnail?.ready ? thumbnail.file : null;
  }

  /** The live thumbnail following a stream's room, if thumbnails are on (diagnostics and tests). */
  roomThumbnail(streamId: string): RoomThumbnail | undefined {
    return this.#thumbnails.get(streamId);
  }

  /** Flow samples of every WebRTC viewer of every room, keyed by stream id then viewer id. */
  async sampleFlow(): Promise<Map<string, Map<string, ViewerFlow>>> {
    const rooms = [...this.#open.values()];
    const samples = await Promise.all(rooms.map((r) => r.sampleFlow()));
    return new Map(rooms.map((r, i) => [r.streamId, samples[i]!]));
  }

  /** The process is shutting down: workers that exit from now on (a signal to the process group) are not replaced. */
  expectShutdown(): void {
    this.#pool?.expectShutdown();
  }

  /** Closes every room and worker; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const rooms = await Promise.allSettled(this.#rooms.values());
      const thumbnails = [...this.#thumbnails.values()];
      const recorders = [...this.#recorders.values()];
      await Promise.all(rooms.map((r) => (r.status === 'fulfilled' ? r.value.close('sfu-closed') : undefined)));
      await Promise.all(thumbnails.map((t) => t.close()));
      await Promise.all(recorders.map((r) => r.close()));
      await this.recordings.close();
      await this.#pool?.close();
      this.logger.debug('sfu closed');
    })();
    return this.#closing;
  }

  /** Follows the room's video with a live thumbnail, unless thumbnails are off or the id cannot name a file. */
  #startThumbnail(room: Room): void {
    const { thumbnailDir, thumbnailHeight, thumbnailIntervalMs, ffmpegPath } = this.config;
    const file = thumbnailFileOf(thumbnailDir, room.streamId);
    if (thumbnailIntervalMs === 0 || !file) return;
    const thumbnail = new RoomThumbnail({
      room,
      file,
      ffmpegPath,
      height: thumbnailHeight,
      intervalMs: thumbnailIntervalMs,
      logger: this.logger,
    });
    this.#thumbnails.set(room.streamId, thumbnail);
    room.once('close', () => {
      if (this.#thumbnails.get(room.streamId) === thumbnail) this.#thumbnails.delete(room.streamId);
    });
  }

  /** Records the room's stream from its HLS relay, unless the id cannot name a directory. */
  #startRecording(room: Room): void {
    const { recordingDir, hlsDir, hlsLadder, hlsSegmentSeconds } = this.config;
    const dir = recordingDirOf(recordingDir, room.streamId);
    const liveDir = hlsDirOf(hlsDir, room.streamId);
    if (!dir || !liveDir) return;
    const recorder = new Recorder({
      room,
      dir,
      liveDir,
      ladder: hlsLadder,
      segmentSeconds: hlsSegmentSeconds,
      logger: this.logger,
      // A room opened again right after its stream's previous one closed: that recording ends before this one goes on.
      after: this.#recorders.get(room.streamId)?.close(),
    });
    this.#recorders.set(room.streamId, recorder);
    room.once('close', () => {
      void recorder.close().finally(() => {
        if (this.#recorders.get(room.streamId) === recorder) this.#recorders.delete(room.streamId);
        if (!this.#closing) void this.recordings.sweep();
      });
    });
  }

  #forget(room: Room): void {
    if (this.#open.get(room.streamId) === room) this.#open.delete(room.streamId);
    this.#rooms.delete(room.streamId);
  }
}
