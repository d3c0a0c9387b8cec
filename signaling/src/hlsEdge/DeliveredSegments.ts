/** Sequence numbers remembered per session: more than a live playlist lists, several times over. */
const REMEMBERED = 64;

/**
 * Which segments one HLS viewer session was delivered, by sequence number and rendition, so that a media second is
 * charged once whatever the rendition: segment N of every rendition holds the same media time (the relay cuts all
 * renditions at the same keyframes), and a player switching renditions may fetch it in both. Charged: the first
 * delivery of N, and N again in a rendition it was already delivered in (the edge cannot tell a retry from a second
 * player using the token). Not charged: N in another rendition. Only the latest `REMEMBERED` numbers are kept; an
 * older one counts as new (charged: never less than before ladders).
 */
export class DeliveredSegments {
  /** Renditions delivered per sequence number, in the order first delivered. */
  readonly #bySeq = new Map<number, Set<string>>();

  /** Notes the delivery of `rendition`'s segment `seq`; true when it is charged. */
  note(rendition: string, seq: number): boolean {
    const got = this.#bySeq.get(seq);
    if (!got) {
      this.#bySeq.set(seq, new Set([rendition]));
      if (this.#bySeq.size > REMEMBERED) this.#forgetOldest();
      return true;
    }
    if (got.has(rendition)) return true;
    got.add(rendition);
    return false;
  }

  #forgetOldest(): void {
    let oldest: number | undefined;
    for (const seq of this.#bySeq.keys()) if (oldest === undefined || seq < oldest) oldest = seq;
    if (oldest !== undefined) this.#bySeq.delete(oldest);
  }
}
