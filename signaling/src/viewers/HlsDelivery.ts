import { PLAYLIST_NAME } from '@persecond/sfu/hls-reader';

/** Segment names remembered per viewer, so that a re-fetch of a recent segment credits nothing (≫ a playlist's list). */
const REMEMBERED_SEGMENTS = 64;

/**
 * What an HLS viewer was actually delivered, as seconds of credit for the tick meter: each distinct media segment
 * fetched credits its duration, playlists credit nothing, and the meter's probe spends one second per round. So a
 * viewer is charged for the seconds it received, even when the transcoder runs slower than real time.
 * The HLS edge process notes the files (`delivered`) and reports the credit (`drain`); the signaling process adds
 * the reported seconds to the viewer's own instance (`add`) which the meter spends (`take`).
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

  /** Notes a file served to the viewer: a segment it was not served before credits its duration (returned). */
  delivered(file: string): number {
    if (file === PLAYLIST_NAME || this.#seen.has(file)) return 0;
    this.#seen.add(file);
    // A Set iterates in insertion order: the first is the oldest.
    if (this.#seen.size > REMEMBERED_SEGMENTS) this.#seen.delete(this.#seen.values().next().value as string);
    this.#credit += this.#segmentSeconds;
    return this.#segmentSeconds;
  }

  /** Adds seconds delivered elsewhere (reported by the HLS edge). */
  add(seconds: number): void {
    if (Number.isFinite(seconds) && seconds > 0) this.#credit += seconds;
  }

  /** Hands over the whole credit (the edge's report) and starts again from zero. */
  drain(): number {
    const credit = this.#credit;
    this.#credit = 0;
    return credit;
  }

  /** Spends one second of credit if there is one (once per meter round); false when nothing is left to meter. */
  take(): boolean {
    if (this.#credit < 1) return false;
    this.#credit -= 1;
    return true;
  }
}
