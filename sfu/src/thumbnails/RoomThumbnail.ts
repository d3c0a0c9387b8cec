import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Room } from '../Room.ts';
import { Thumbnailer } from './Thumbnailer.ts';

/** Settings of a room's live thumbnail. */
export interface RoomThumbnailOptions {
  room: Room;
  /** The JPEG (`thumbnailFileOf`); its directory is created if missing. */
  file: string;
  ffmpegPath: string;
  height: number;
  intervalMs: number;
  logger: Logger;
}

/**
 * The live thumbnail of one room: a `Thumbnailer` of the room's first video producer, started when one appears,
 * replaced when it closes and another one exists, closed with the room. `close()` (idempotent; also run when the room
 * closes) stops it and removes the picture.
 */
export class RoomThumbnail {
  /** Path of the JPEG. */
  readonly file: string;
  readonly #opts: RoomThumbnailOptions;
  readonly #log: Logger;
  /** Producer changes are followed one at a time, in order. */
  #queue: Promise<void>;
  #current: Thumbnailer | undefined;
  #ready = false;
  #closing: Promise<void> | undefined;
  readonly #follow = (): void => {
    this.#queue = this.#queue
      .then(() => this.#sync())
      .catch((err) => this.#log.warn({ err }, 'the thumbnail could not follow the producers'));
  };
  readonly #onRoomClose = (): void => {
    void this.close();
  };

  constructor(opts: RoomThumbnailOptions) {
    this.#opts = opts;
    this.file = opts.file;
    this.#log = opts.logger.child({ part: 'room-thumbnail', streamId: opts.room.streamId });
    // A picture left by a process that did not close its rooms is not this room's.
    this.#queue = this.#removePicture()
      .then(() => mkdir(dirname(opts.file), { recursive: true }))
      .then(
        () => undefined,
        (err) => this.#log.warn({ err }, 'the thumbnail directory cannot be prepared'),
      );
    opts.room.on('newProducer', this.#follow);
    opts.room.on('producerClosed', this.#follow);
    opts.room.once('close', this.#onRoomClose);
    this.#follow();
  }

  /** Whether a picture of the stream was written since the room opened (then `file` can be served). */
  get ready(): boolean {
    return this.#ready;
  }

  /** The thumbnailer running now, if the room has a video producer. */
  get thumbnailer(): Thumbnailer | undefined {
    return this.#current;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Stops the thumbnailer and removes the picture; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const { room } = this.#opts;
      room.off('newProducer', this.#follow);
      room.off('producerClosed', this.#follow);
      room.off('close', this.#onRoomClose);
      await this.#queue;
      await this.#current?.close();
      this.#current = undefined;
      this.#ready = false;
      await this.#removePicture();
    })();
    return this.#closing;
  }

  /** Makes the thumbnailer follow the room's first video producer (none when there is none). */
  async #sync(): Promise<void> {
    if (this.#closing) return;
    const video = this.#opts.room.producers.find((p) => p.kind === 'video');
    const current = this.#current;
    if (current && !current.closed && current.producerId === video?.id) return;
    this.#current = undefined;
    await current?.close();
    if (!video || this.#closing) return;
    const { room, file, ffmpegPath, height, intervalMs, logger } = this.#opts;
    try {
      const thumbnailer = await Thumbnailer.start({
        router: room.originRouter,
        producerId: video.id,
        file,
        ffmpegPath,
        height,
        intervalMs,
        logger,
      });
      if (this.#closing) {
        await thumbnailer.close();
        return;
      }
      thumbnailer.on('picture', () => {
        this.#ready = true;
      });
      this.#current = thumbnailer;
    } catch (err) {
      // The producer closed meanwhile (the next change is followed), or ffmpeg cannot run: the stream goes on without.
      this.#log.warn({ err, producerId: video.id }, 'no thumbnail for this producer');
    }
  }

  #removePicture(): Promise<void> {
    // ffmpeg writes `<file>.tmp` and renames it: a process killed mid-picture leaves the temporary file.
    return Promise.all([rm(this.file, { force: true }), rm(`${this.file}.tmp`, { force: true })]).then(() => {});
  }
}
