import { PLAYLIST_NAME } from '@persecond/sfu';

/** Segment names remembered per viewer, so that a re-fetch of a recent segment credits nothing (≫ a playlist's list). */
const REMEMBERED_SEGMENTS = 64;

/**
 * What an HLS viewer was actually delivered, as seconds of credit for the tick meter: each distinct media segment
 * fetched credits its duration, playlists credit nothing, and the meter's probe spends one second per round. So a
 * viewer is charged for the seconds it received, even when the transcoder runs slower than real time.
 */
export class HlsDelivery {
  readonly #segmentSeconds: number;
  readonly #seen = new Set<string>();
  #credit = 0;

  /** `segmentSeconds`: the duration one media segment stands for. */
  constructor(segmentSeconds: number) {
    this.#segmentSeconds = segmentSeconds;
  }

  /** Seconds delivered and not yet metered. */
  get credit(): number {
    return this.#credit;
  }

  /** Notes a file served to the viewer: a segment it was not served before credits its duration. */
  delivered(file: string): void {
    if (file === PLAYLIST_NAME || this.#seen.has(file)) return;
    this.#seen.add(file);
    // A Set iterates in insertion order: the first is the oldest.
    if (this.#seen.size > REMEMBERED_SEGMENTS) this.#seen.delete(this.#seen.values().next().value as string);
    this.#credit += this.#segmentSeconds;
  }

  /** Spends one second of credit if there is one (once per meter round); false when nothing is left to meter. */
  take(): boolean {
    if (this.#credit < 1) return false;
    this.#credit -= 1;
    return true;
  }
}
