/**
 * The signaling process's side of an HLS viewer's delivery: seconds the edge reported delivered (`add`) and not yet
 * metered; the meter's probe spends one second per round (`take`). So a viewer is charged for the seconds it
 * received, even when the transcoder runs slower than real time.
 */
export class HlsCredit {
  #credit = 0;

  /** Seconds delivered and not yet metered. */
  get credit(): number {
    return this.#credit;
  }

  /** Adds seconds the HLS edge reported delivered. */
  add(seconds: number): void {
    if (Number.isFinite(seconds) && seconds > 0) this.#credit += seconds;
  }

  /** Spends one second of credit if there is one (once per meter round); false when nothing is left to meter. */
  take(): boolean {
    if (this.#credit < 1) return false;
    this.#credit -= 1;
    return true;
  }

  /** Takes every second of credit left (the session ends: what was delivered and not metered is charged at once). */
  drain(): number {
    const credit = this.#credit;
    this.#credit = 0;
    return credit;
  }
}
