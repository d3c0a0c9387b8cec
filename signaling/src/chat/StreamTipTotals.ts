import type { TipStore, TipTotals } from './TipStore.ts';

/** Where `stream:stats` reads a stream's tip totals, and which streams it still needs. */
export interface TipTotalsSource {
  /** The stream's tips pending and final (planck). */
  of(streamId: string): Promise<TipTotals>;
  /** Forgets every stream but these (the ones still live with their creator on this node). */
  keepOnly(streamIds: ReadonlySet<string>): void;
}

/**
 * The tip totals of the streams `stream:stats` reports, in memory: each loaded once (one query) when first asked for,
 * loaded again after a tip delivery touched the stream, and forgotten once the stream is no longer reported here.
 *
 * Why reload instead of adding the steps' amounts: every node's watcher delivers the same tips, but each step is a
 * compare and set in the shared database, so only one node makes it; the others see it as already made. Amounts
 * added from this node's own steps would miss the other nodes' steps and never be exact on every node. Reloading
 * a stream after each delivery that names it (this node's step done, or found made by another node: either way
 * written before) is exact, and costs one query per stream and tip delivery instead of one per stream and second. A
 * node's numbers follow its own watcher, as its settlement totals do.
 */
export class StreamTipTotals implements TipTotalsSource {
  readonly #totals = new Map<string, TipTotals>();
  /** Bumped by every change: a load that began before a change may have read the old sums and is not kept. */
  #epoch = 0;

  constructor(private readonly tips: TipStore) {}

  /** The stream's totals, from memory or loaded (one query). */
  async of(streamId: string): Promise<TipTotals> {
    const known = this.#totals.get(streamId);
    if (known) return known;
    const epoch = this.#epoch;
    const totals = await this.tips.totals(streamId);
    if (epoch === this.#epoch) this.#totals.set(streamId, totals);
    return totals;
  }

  /** The tips of these streams changed (or may have): they are loaded again when next asked for. */
  changed(streamIds: Iterable<string>): void {
    this.#epoch++;
    for (const streamId of streamIds) this.#totals.delete(streamId);
  }

  /** Any stream's tips may have changed (e.g. a retracted block, whose tips' streams are not known here). */
  changedAll(): void {
    this.#epoch++;
    this.#totals.clear();
  }

  /** Forgets every stream but these. */
  keepOnly(streamIds: ReadonlySet<string>): void {
    for (const streamId of this.#totals.keys()) if (!streamIds.has(streamId)) this.#totals.delete(streamId);
  }
}
