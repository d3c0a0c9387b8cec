import { LedgerError } from './errors.ts';

/** Socket errors of a database that is down, restarting or cut off. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of a server that is going away or not taking connections: class 08 (connection exception), admin and
 * crash shutdown, "the database system is starting up", too many connections.
 */
function isUnavailableState(state: string): boolean {
  return state.startsWith('08') || state === '57P01' || state === '57P02' || state === '57P03' || state === '53300';
}

/** node-postgres' own messages for a connection lost or never made (they carry no code). */
const LOST_CONNECTION = /Connection terminated|timeout exceeded when trying to connect|not queryable|timeout expired/;

/**
 * Whether a database operation failed because the database could not be reached (down, restarting, connection cut),
 * as opposed to refusing the operation: the cause chain (drizzle wraps driver errors) is searched for a socket error,
 * a connection-class SQLSTATE or node-postgres' lost-connection messages.
 */
export function isDatabaseUnreachable(err: unknown): boolean {
  if (err instanceof LedgerError) return err.code === 'LEDGER_UNAVAILABLE';
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (
      typeof code === 'string' &&
      (NETWORK_CODES.has(code) || (/^[0-9A-Z]{5}$/.test(code) && isUnavailableState(code)))
    )
      return true;
    if (e instanceof AggregateError && e.errors.some(isDatabaseUnreachable)) return true;
    if (e instanceof Error && LOST_CONNECTION.test(e.message)) return true;
  }
  return false;
}

/** The ledger database as `/healthz` shows it (a type, not an interface: it is a module's health record). */
export type LedgerHealth = {
  status: 'ok' | 'degraded';
  /** Since when the database has been unreachable (ISO time), while degraded. */
  since?: string;
  /** The last failure that said so, while degraded. */
  error?: string;
};

/** What availability changes mean to its owner (metrics, logs). */
export interface AvailabilityHooks {
  /** The database became unreachable (`err`) or reachable again after `downMs`. */
  onChange?(available: boolean, info: { err?: unknown; downMs?: number }): void;
  /** An operation failed because the database was unreachable. */
  onUnreachable?(err: unknown): void;
}

/** How often the database is asked while unreachable, so that its return is seen without any other traffic. */
const PROBE_WHILE_DOWN_MS = 1_000;
/** How often the database is asked while reachable, so that an outage is seen when nothing else queries it. */
const PROBE_WHILE_UP_MS = 5_000;

/**
 * Whether the ledger's database is reachable, from what its operations meet and a light probe (`select 1`): every
 * operation failing for want of the database marks it unreachable, every success reachable again. The probe runs
 * only for a server database (an embedded one cannot go away on its own).
 */
export class LedgerAvailability {
  #downSince: number | undefined;
  #lastError = '';
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #hooks: AvailabilityHooks = {};

  constructor(private readonly probe: (() => Promise<unknown>) | undefined) {
    this.#arm();
  }

  /** Whom to tell about changes (replaces earlier hooks). */
  set hooks(hooks: AvailabilityHooks) {
    this.#hooks = hooks;
  }

  /** Whether the database answered last time it was asked. */
  get available(): boolean {
    return this.#downSince === undefined;
  }

  /** Milliseconds the database has been unreachable so far (0 while reachable). */
  get downMs(): number {
    return this.#downSince === undefined ? 0 : Date.now() - this.#downSince;
  }

  /** The state as `/healthz` shows it. */
  health(): LedgerHealth {
    if (this.#downSince === undefined) return { status: 'ok' };
    return { status: 'degraded', since: new Date(this.#downSince).toISOString(), error: this.#lastError };
  }

  /** An operation succeeded: the database is reachable. */
  succeeded(): void {
    if (this.#downSince === undefined) return;
    const downMs = Date.now() - this.#downSince;
    this.#downSince = undefined;
    this.#lastError = '';
    this.#arm();
    this.#call(() => this.#hooks.onChange?.(true, { downMs }));
  }

  /**
   * An operation failed: when for want of the database, it is marked unreachable and the failure comes back as
   * LEDGER_UNAVAILABLE (a stable, retryable code); any other failure comes back as it is.
   */
  failed(err: unknown): unknown {
    if (!isDatabaseUnreachable(err)) return err;
    this.#call(() => this.#hooks.onUnreachable?.(err));
    const message = err instanceof Error ? err.message : String(err);
    if (this.#downSince === undefined) {
      this.#downSince = Date.now();
      this.#lastError = message;
      this.#arm();
      this.#call(() => this.#hooks.onChange?.(false, { err }));
    } else this.#lastError = message;
    if (err instanceof LedgerError) return err;
    return new LedgerError('LEDGER_UNAVAILABLE', `the ledger database cannot be reached: ${message}`, { cause: err });
  }

  /** Stops probing; safe to call twice. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  /** (Re)schedules the probe at the period of the current state. */
  #arm(): void {
    clearTimeout(this.#timer);
    if (!this.probe || this.#closed) return;
    const probe = this.probe;
    this.#timer = setTimeout(
      () => {
        // The probe goes through the ledger's guard, which reports its outcome here.
        probe().then(
          () => this.#arm(),
          () => this.#arm(),
        );
      },
      this.#downSince === undefined ? PROBE_WHILE_UP_MS : PROBE_WHILE_DOWN_MS,
    );
    this.#timer.unref();
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch {
      // A hook that throws must not change what the operation answers.
    }
  }
}
