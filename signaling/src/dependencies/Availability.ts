/** A dependency's part of `/healthz` (a type, not an interface: it is a module's health record). */
export type DependencyHealth = {
  status: 'ok' | 'degraded';
  /** Since when the dependency has been unreachable (ISO time), while degraded. */
  since?: string;
  /** The last failure that said so, while degraded. */
  error?: string;
};

/** How a dependency is asked whether it answers, and how often. */
export interface ProbeOptions {
  /** Asks the dependency something cheap; a rejection (or no answer in `timeoutMs`) means unreachable. */
  probe: () => Promise<unknown>;
  /** Period while reachable, so that an outage is seen when nothing else uses the dependency. */
  upMs: number;
  /** Period while unreachable, so that its return is seen without any other traffic. */
  downMs: number;
  /** An answer later than this counts as none (a frozen server keeps the connection open and answers nothing). */
  timeoutMs: number;
}

/** Outages kept for `downMsSince` (oldest dropped first). */
const MAX_OUTAGES = 1_000;

/** A closed outage: from when to when the dependency could not be reached (ms since epoch). */
interface Outage {
  from: number;
  to: number;
}

/**
 * Whether a dependency (Redis, the chain node) answers, from what its client says (connection events) and a light
 * probe with a deadline: marked unreachable by a failure, reachable again by the next probe that answers. It keeps the
 * recent outages so that rules can be stretched by the time the dependency was away (`downMsSince`).
 */
export class DependencyAvailability {
  #downSince: number | undefined;
  #upSince = Date.now();
  #lastError = '';
  #outages: Outage[] = [];
  #timer: NodeJS.Timeout | undefined;
  #probing = false;
  #closed = false;
  readonly #listeners = new Set<(available: boolean, info: { err?: unknown; downMs?: number }) => void>();

  constructor(
    /** What is watched, for logs and metrics (`redis`, `chain`). */
    readonly name: string,
    private readonly options: ProbeOptions,
  ) {
    this.#arm(options.upMs);
  }

  /** Whether the dependency answered last time it was asked. */
  get available(): boolean {
    return this.#downSince === undefined;
  }

  /** Milliseconds the dependency has been unreachable so far (0 while reachable). */
  get downMs(): number {
    return this.#downSince === undefined ? 0 : Date.now() - this.#downSince;
  }

  /** Milliseconds since the dependency last became reachable (or since watching began). */
  get upMs(): number {
    return this.#downSince === undefined ? Date.now() - this.#upSince : 0;
  }

  /** Milliseconds the dependency was unreachable between `since` (ms since epoch) and now, the current outage included. */
  downMsSince(since: number): number {
    const now = Date.now();
    let total = this.#downSince === undefined ? 0 : now - Math.max(this.#downSince, since);
    for (let i = this.#outages.length - 1; i >= 0; i--) {
      const o = this.#outages[i] as Outage;
      if (o.to <= since) break;
      total += o.to - Math.max(o.from, since);
    }
    return Math.max(0, total);
  }

  /** The state as `/healthz` shows it. */
  health(): DependencyHealth {
    if (this.#downSince === undefined) return { status: 'ok' };
    return { status: 'degraded', since: new Date(this.#downSince).toISOString(), error: this.#lastError };
  }

  /** Calls `listener` on every change (unreachable with the error, reachable again with the outage's length). */
  onChange(listener: (available: boolean, info: { err?: unknown; downMs?: number }) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The dependency answered: reachable. */
  succeeded(): void {
    if (this.#downSince === undefined) return;
    const now = Date.now();
    const downMs = now - this.#downSince;
    this.#outages.push({ from: this.#downSince, to: now });
    if (this.#outages.length > MAX_OUTAGES) this.#outages.shift();
    this.#downSince = undefined;
    this.#upSince = now;
    this.#lastError = '';
    this.#arm(this.options.upMs);
    this.#emit(true, { downMs });
  }

  /** The dependency could not be reached (`err`): unreachable until a probe answers. */
  failed(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.#lastError = message || 'unreachable';
    if (this.#downSince !== undefined) return;
    this.#downSince = Date.now();
    this.#arm(this.options.downMs);
    this.#emit(false, { err });
  }

  /** Probes now rather than at the next period (e.g. the client says it reconnected). */
  probeNow(): void {
    this.#arm(0);
  }

  /** Stops probing; safe to call twice. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  /** Runs `probe` once with the deadline; its outcome marks the state. */
  async #probeOnce(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      // After the I/O of the same loop turn: an answer that came while the event loop was busy is not "no answer".
      const fail = () => reject(new Error(`${this.name}: no answer in ${this.options.timeoutMs} ms`));
      timer = setTimeout(() => setImmediate(fail), this.options.timeoutMs);
    });
    try {
      await Promise.race([this.options.probe(), deadline]);
      this.succeeded();
    } catch (err) {
      this.failed(err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** (Re)schedules the probe in `ms`; one probe at a time (a frozen server would otherwise collect them). */
  #arm(ms: number): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      if (this.#probing) return;
      this.#probing = true;
      void this.#probeOnce().finally(() => {
        this.#probing = false;
        if (!this.#closed) this.#arm(this.available ? this.options.upMs : this.options.downMs);
      });
    }, ms);
    this.#timer.unref();
  }

  #emit(available: boolean, info: { err?: unknown; downMs?: number }): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(available, info);
      } catch {
        // A listener that throws must not change what the dependency's state is.
      }
    }
  }
}
