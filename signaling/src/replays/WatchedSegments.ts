/** Most distinct segments one session remembers (a day of 1-s segments, several times over). */
const REMEMBERED_MAX = 1_000_000;

/**
 * The segments of a recording one replay session was charged for, by number (segment N holds the same seconds in
 * every rendition): a second of the replay is charged the first time any rendition of it is delivered, never again
 * in that session (a seek back, a retry, a rendition switch); seconds never delivered are never charged. Held by the
 * session (so kept across reconnects and edge restarts) and loaded from the ledger's database when a session resumes.
 */
export class WatchedSegments {
  readonly #seen = new Set<number>();

  /** Distinct segments charged so far. */
  get size(): number {
    return this.#seen.size;
  }

  /** Of `seqs`, the numbers not charged yet, each once. */
  fresh(seqs: Iterable<number>): number[] {
    const out = new Set<number>();
    for (const seq of seqs) if (!this.#seen.has(seq)) out.add(seq);
    return [...out];
  }

  /** Notes numbers as charged. */
  add(seqs: Iterable<number>): void {
    // Past the bound a segment counts as new each time (charged again: never free), as live HLS re-fetches are.
    for (const seq of seqs) if (this.#seen.size < REMEMBERED_MAX) this.#seen.add(seq);
  }
}
