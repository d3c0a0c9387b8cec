/** A per-second charge of one viewer: cumulative seconds and exact amount after tick `seq`. */
export interface MeterTick {
  seq: number;
  watchedSeconds: number;
  /** watchedSeconds × pricePerSecond, exact. */
  owed: bigint;
}

/** Whether media reached the viewer since the previous probe. */
export type FlowProbe = () => boolean | Promise<boolean>;

/** A viewer to meter. */
export interface MeteredViewer {
  pricePerSecond: bigint;
  probe: FlowProbe;
  /** Seconds already charged (a resumed session); the next tick counts from here. */
  watchedSeconds?: number;
  /** Last tick sequence number already sent (a resumed session). */
  seq?: number;
  /** Start paused (no probes, no ticks) until resume(). */
  paused?: boolean;
}

/** A viewer's meter state. */
export interface MeterState extends MeterTick {
  paused: boolean;
}

/** How the meter runs. */
export interface TickMeterOptions {
  /** Receives each tick, synchronously, in the round that produced it. */
  onTick(viewerId: string, tick: MeterTick): void;
  /** Round period (default 1000 ms: one tick per second). */
  intervalMs?: number;
  /** Runs before each round's probes, e.g. to sample a whole room at once; a failure skips the round. */
  beforeRound?(): void | Promise<void>;
  /** Runs after each round, e.g. to write its ticks in one batch; the next round waits for it. */
  afterRound?(ticked: number): void | Promise<void>;
  /** Probe, callback and hook failures (the meter keeps running). */
  onError?(err: unknown, viewerId?: string): void;
}

/** Counters of the scheduler. */
export interface MeterStats {
  viewers: number;
  rounds: number;
  ticks: number;
  /** Rounds skipped because the previous one was still running. */
  overruns: number;
  /** Probes that answered after their round had ended (their answer is ignored). */
  lateProbes: number;
}

class Entry {
  removed = false;
  paused: boolean;
  seq: number;
  watched: number;
  owed: bigint;
  /** Round whose async probe is outstanding (0: none); at most one is, so an answer is never mistaken. */
  probeRound = 0;
  /** Bumped by pause/remove: an answer to a probe made before does not count. */
  epoch = 0;
  probeEpoch = 0;
  readonly onFlow: (flowing: boolean) => void;
  readonly onFail: (err: unknown) => void;

  constructor(
    readonly id: string,
    readonly price: bigint,
    readonly probe: FlowProbe,
    settle: (e: Entry, flowing: boolean, err: unknown) => void,
    init: MeteredViewer,
  ) {
    this.paused = init.paused ?? false;
    this.seq = init.seq ?? 0;
    this.watched = init.watchedSeconds ?? 0;
    this.owed = BigInt(this.watched) * price;
    // Bound once per viewer, so async probes allocate no closures per round.
    this.onFlow = (flowing) => settle(this, flowing === true, undefined);
    this.onFail = (err) => settle(this, false, err ?? new Error('probe failed'));
  }
}

/** Share of a round's slot its async probes may take; the rest is margin so a hung probe costs no slot. */
const PROBE_WINDOW = 0.8;

function checkCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be an integer ≥ 0`);
}

/**
 * One scheduler for every metered viewer: each round (once per second) it probes every active viewer and, only if
 * media flowed, advances that viewer's watched seconds and emits a tick. One timer in all, no per-viewer timers;
 * rounds never overlap (a slow round skips the next slot and counts an overrun).
 */
export class TickMeter {
  readonly #opts: TickMeterOptions;
  readonly #interval: number;
  readonly #byId = new Map<string, Entry>();
  #entries: Entry[] = [];
  #removedSinceCompact = 0;
  #timer: NodeJS.Timeout | undefined;
  #next: number;
  #round = 0;
  #pending = 0;
  #roundDone: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  readonly #stats = { rounds: 0, ticks: 0, overruns: 0, lateProbes: 0 };

  constructor(opts: TickMeterOptions) {
    const interval = opts.intervalMs ?? 1000;
    if (!(interval > 0)) throw new RangeError('intervalMs must be positive');
    this.#opts = opts;
    this.#interval = interval;
    this.#next = performance.now() + interval;
    this.#timer = setTimeout(this.#onTimer, interval);
  }

  /** Starts metering a viewer; throws if it is already metered or the meter is closed. */
  add(viewerId: string, viewer: MeteredViewer): void {
    if (this.#closing) throw new Error('the meter is closed');
    if (this.#byId.has(viewerId)) throw new Error(`viewer ${viewerId} is already metered`);
    if (viewer.pricePerSecond < 0n) throw new RangeError('pricePerSecond must be ≥ 0');
    checkCount('watchedSeconds', viewer.watchedSeconds ?? 0);
    checkCount('seq', viewer.seq ?? 0);
    const entry = new Entry(viewerId, viewer.pricePerSecond, viewer.probe, this.#settle, viewer);
    this.#entries.push(entry);
    this.#byId.set(viewerId, entry);
  }

  /** Stops probing and ticking a viewer until resume(); false if unknown. */
  pause(viewerId: string): boolean {
    const e = this.#byId.get(viewerId);
    if (!e) return false;
    e.paused = true;
    e.epoch++;
    return true;
  }

  /** Resumes a paused viewer from the next round; false if unknown. */
  resume(viewerId: string): boolean {
    const e = this.#byId.get(viewerId);
    if (!e) return false;
    e.paused = false;
    return true;
  }

  /**
   * Sets a viewer's count back to `to` (what was last delivered), e.g. after its round's ticks could not be recorded:
   * its next tick counts from there. False if unknown.
   */
  rewind(viewerId: string, to: { seq: number; watchedSeconds: number }): boolean {
    const e = this.#byId.get(viewerId);
    if (!e) return false;
    checkCount('seq', to.seq);
    checkCount('watchedSeconds', to.watchedSeconds);
    e.seq = to.seq;
    e.watched = to.watchedSeconds;
    e.owed = BigInt(to.watchedSeconds) * e.price;
    return true;
  }

  /** Stops metering a viewer; returns its final state, or undefined if unknown. */
  remove(viewerId: string): MeterState | undefined {
    const e = this.#byId.get(viewerId);
    if (!e) return undefined;
    this.#byId.delete(viewerId);
    e.removed = true;
    e.epoch++;
    this.#removedSinceCompact++;
    return { seq: e.seq, watchedSeconds: e.watched, owed: e.owed, paused: e.paused };
  }

  /** Whether a viewer is metered. */
  has(viewerId: string): boolean {
    return this.#byId.has(viewerId);
  }

  /** A viewer's current state, or undefined if unknown. */
  state(viewerId: string): MeterState | undefined {
    const e = this.#byId.get(viewerId);
    return e && { seq: e.seq, watchedSeconds: e.watched, owed: e.owed, paused: e.paused };
  }

  /** Number of metered viewers (paused ones included). */
  get size(): number {
    return this.#byId.size;
  }

  /** Scheduler counters. */
  get stats(): MeterStats {
    return { viewers: this.#byId.size, ...this.#stats };
  }

  /** Stops the timer and waits for the round in progress; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      await this.#running;
      this.#byId.clear();
      this.#entries = [];
    })();
    return this.#closing;
  }

  readonly #onTimer = (): void => {
    if (this.#closing) return;
    this.#running = this.#runRound()
      .catch((err: unknown) => this.#report(err))
      .finally(() => {
        this.#running = undefined;
        this.#schedule();
      });
  };

  /** Arms the timer for the next slot on the fixed grid, skipping slots a long round ran over. */
  #schedule(): void {
    if (this.#closing) return;
    const now = performance.now();
    this.#next += this.#interval;
    if (this.#next <= now) {
      const missed = Math.floor((now - this.#next) / this.#interval) + 1;
      this.#stats.overruns += missed;
      this.#next += missed * this.#interval;
    }
    this.#timer = setTimeout(this.#onTimer, this.#next - now);
  }

  async #runRound(): Promise<void> {
    const { beforeRound, afterRound } = this.#opts;
    if (beforeRound) {
      try {
        await beforeRound();
      } catch (err) {
        this.#report(err);
        return;
      }
    }
    if (this.#closing) return;
    if (this.#removedSinceCompact > 0) this.#compact();
    const round = ++this.#round;
    const ticksBefore = this.#stats.ticks;
    this.#pending = 0;
    const entries = this.#entries;
    const count = entries.length;
    for (let i = 0; i < count; i++) {
      const e = entries[i] as Entry;
      // A probe still unanswered from an earlier round is not asked again until it answers.
      if (e.paused || e.removed || e.probeRound !== 0) continue;
      let answer: boolean | Promise<boolean>;
      try {
        answer = e.probe();
      } catch (err) {
        this.#report(err, e.id);
        continue;
      }
      if (answer === true) this.#advance(e);
      else if (answer !== false && typeof answer?.then === 'function') {
        e.probeRound = round;
        e.probeEpoch = e.epoch;
        this.#pending++;
        answer.then(e.onFlow, e.onFail);
      }
    }
    if (this.#pending > 0) await this.#awaitProbes();
    this.#stats.rounds++;
    if (afterRound) {
      try {
        await afterRound(this.#stats.ticks - ticksBefore);
      } catch (err) {
        this.#report(err);
      }
    }
  }

  /** Waits for this round's async probes, at most until the next slot (a hung probe must not stop everyone). */
  #awaitProbes(): Promise<void> {
    return new Promise<void>((resolve) => {
      const deadline = setTimeout(
        () => {
          this.#roundDone = undefined;
          this.#stats.lateProbes += this.#pending;
          resolve();
        },
        Math.max(1, this.#next + this.#interval * PROBE_WINDOW - performance.now()),
      );
      this.#roundDone = () => {
        clearTimeout(deadline);
        this.#roundDone = undefined;
        resolve();
      };
    });
  }

  /** An async probe answered; it counts only within its round and if the viewer was not paused or removed since. */
  readonly #settle = (e: Entry, flowing: boolean, err: unknown): void => {
    const current = e.probeRound === this.#round && this.#roundDone !== undefined;
    e.probeRound = 0;
    if (!current) return;
    if (err !== undefined) this.#report(err, e.id);
    else if (flowing && e.probeEpoch === e.epoch) this.#advance(e);
    if (--this.#pending === 0) this.#roundDone?.();
  };

  #advance(e: Entry): void {
    e.seq++;
    e.watched++;
    e.owed += e.price;
    this.#stats.ticks++;
    try {
      this.#opts.onTick(e.id, { seq: e.seq, watchedSeconds: e.watched, owed: e.owed });
    } catch (err) {
      this.#report(err, e.id);
    }
  }

  /** Drops removed viewers from the array (in place, keeping order). */
  #compact(): void {
    let j = 0;
    for (const e of this.#entries) {
      if (!e.removed) this.#entries[j++] = e;
    }
    this.#entries.length = j;
    this.#removedSinceCompact = 0;
  }

  #report(err: unknown, viewerId?: string): void {
    try {
      this.#opts.onError?.(err, viewerId);
    } catch {
      // An error handler that throws has nowhere left to report to.
    }
  }
}
