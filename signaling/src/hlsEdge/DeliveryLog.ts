import { PLAYLIST_NAME } from '@persecond/sfu/hls-reader';

/** Segment names remembered per viewer, so that a re-fetch of a recent segment credits nothing (≫ a playlist's list). */
const REMEMBERED_SEGMENTS = 64;

/**
 * The edge's log of what one HLS viewer session was delivered: each distinct media segment served credits its
 * duration, playlists and re-fetches of a recent segment credit nothing. The edge notes the files (`delivered`) and
 * hands the credit to its report (`drain`); the signaling process meters it (`HlsCredit`).
 */
export class DeliveryLog {
  readonly #segmentSeconds: number;
  readonly #seen = new Set<string>();
  #credit = 0;

  /** `segmentSeconds`: the duration one media segment stands for. */
  constructor(segmentSeconds: number) {
    this.#segmentSeconds = segmentSeconds;
  }

  /** Notes a file served to the viewer: a segment it was not served before credits its duration (returned). */
  delivered(file: string): number {
    if (file === PLAYLIST_NAME || this.#seen.has(file)) return 0;
    this.#seen.add(file);
    // A Set iterates in insertion order: the first is the oldest.
    if (this.#seen.size > REMEMBERED_SEGMENTS) this.#seen.delete(this.#seen.values().next().value as string);
    this.#credit += this.#segmentSeconds;
    return this.#segmentSeconds;
  }

  /** Hands over the credit not yet reported and starts again from zero. */
  drain(): number {
    const credit = this.#credit;
    this.#credit = 0;
    return credit;
  }
}
