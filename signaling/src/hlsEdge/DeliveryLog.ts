/**
 * The edge's log of what one HLS viewer session was delivered and not yet reported, in media seconds (`FetchPolicy`
 * says what a file is worth). The edge adds each delivery (`add`) and hands the sum to its report (`drain`); the
 * signaling process meters it (`HlsCredit`).
 */
export class DeliveryLog {
  #seconds = 0;

  /** Notes `seconds` of media delivered. */
  add(seconds: number): void {
    this.#seconds += seconds;
  }

  /** Hands over the seconds not yet reported and starts again from zero. */
  drain(): number {
    const seconds = this.#seconds;
    this.#seconds = 0;
    return seconds;
  }
}
