import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import { childEnvOf, type EdgeChildSettings } from './childEnv.ts';
import { HlsEdgeError } from './errors.ts';
import { type EdgeCommand, EdgeReport } from './protocol.ts';

const ENTRY = fileURLToPath(new URL('./main.ts', import.meta.url));

/** How the parent runs and supervises the edge child. */
export interface HlsEdgeOptions extends Omit<EdgeChildSettings, 'reportIntervalMs'> {
  /** How often the child reports deliveries (default 250 ms). */
  reportIntervalMs?: number;
  /** Public base URL handed to players (default `http://<host>:<port>`). */
  publicUrl?: string;
  log: Logger;
  /** Where the edge's metrics go (default: a registry of its own). */
  registry?: Registry;
  /** Longest wait for the child's `ready` (default 30 s). */
  startTimeoutMs?: number;
  /** SIGKILL this long after the disconnect on close (default 3 s). */
  killTimeoutMs?: number;
  /** Restart back-off after the child dies: first and longest delay (default 100 ms, 5 s). */
  restartDelayMs?: { min: number; max: number };
}

/** Seconds of new media delivered per viewer session, as the edge reported them. */
export type DeliveredHandler = (seconds: Readonly<Record<string, number>>) => void;

/** Numbers of the recording's segments delivered per replay session, as the edge reported them. */
export type ReplayDeliveredHandler = (segments: Readonly<Record<string, readonly number[]>>) => void;

/** A child that came up: its process and the port it listens on. */
interface RunningChild {
  child: ChildProcess;
  port: number;
}

/**
 * The HLS edge as the signaling process sees it: a child process (`main.ts`) serving `GET /hls/:streamId/:file` so
 * that segment traffic never touches the signaling event loop. `allow`/`deny` say which viewer sessions it may
 * serve (kept here too, and sent again to a restarted child); `onDelivered` receives its batched delivery reports.
 * A child that dies is restarted on the same port with back-off; `close()` stops it (disconnect, then SIGKILL).
 */
export class HlsEdge {
  /** Called with every delivery report. */
  onDelivered: DeliveredHandler = () => undefined;
  /** Called with the replay segments of every delivery report that has any. */
  onReplayDelivered: ReplayDeliveredHandler = () => undefined;
  readonly #options: HlsEdgeOptions;
  readonly #log: Logger;
  readonly #allowed = new Map<string, { streamId: string; paused: string | undefined; replay: boolean }>();
  /** Flushes waiting for their `flushed`, by id. */
  readonly #flushes = new Map<number, () => void>();
  #flushId = 0;
  readonly #metrics: { restarts: Counter; delivered: Counter; limited: Counter };
  #port = 0;
  #child: ChildProcess | undefined;
  /** True once the current child said `ready` (commands go to it directly). */
  #ready = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #restartDelay: number;
  #startedAt = 0;
  #started: Promise<this> | undefined;
  #closing: Promise<void> | undefined;
  #abortStart: ((err: Error) => void) | undefined;

  /** Nothing runs until `start()`. */
  constructor(options: HlsEdgeOptions) {
    this.#options = options;
    this.#log = options.log.child({ part: 'hls-edge' });
    this.#restartDelay = options.restartDelayMs?.min ?? 100;
    const registers = [options.registry ?? new Registry()];
    this.#metrics = {
      restarts: new Counter({
        name: 'signaling_hls_edge_restarts_total',
        help: 'HLS edge child processes restarted after they died',
        registers,
      }),
      delivered: new Counter({
        name: 'signaling_hls_edge_delivered_seconds_total',
        help: 'Seconds of HLS media the edge reported delivered to viewer sessions',
        registers,
      }),
      limited: new Counter({
        name: 'signaling_hls_edge_limited_total',
        help: "HLS segment fetches refused 429 LIMIT_REACHED: more than one player's worth on a session's token",
        registers,
      }),
    };
  }

  /** A started edge (see `start()`). */
  static start(options: HlsEdgeOptions): Promise<HlsEdge> {
    return new HlsEdge(options).start();
  }

  /**
   * Starts the edge child and resolves once it listens (once; later calls get the same promise). Rejects with
   * HLS_EDGE_START_FAILED if it does not come up (the edge is then closed), HLS_EDGE_CLOSED if closed meanwhile.
   */
  start(): Promise<this> {
    this.#started ??= this.#spawn(this.#options.port).then(
      ({ port }) => {
        this.#port = port;
        return this;
      },
      async (err: unknown) => {
        await this.close();
        throw err;
      },
    );
    return this.#started;
  }

  /** The port the edge listens on (kept across restarts). */
  get port(): number {
    return this.#port;
  }

  /** Base URL players fetch `/hls/:streamId/:file` from. */
  get url(): string {
    if (this.#options.publicUrl) return this.#options.publicUrl.replace(/\/+$/, '');
    const host = this.#options.host.includes(':') ? `[${this.#options.host}]` : this.#options.host;
    return `http://${host}:${this.#port}`;
  }

  /** Process id of the running child, if any (for tests and diagnostics). */
  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  /**
   * Lets the edge serve `sessionId`'s requests for `streamId` (with `paused`: answer them 402 for now); with `replay`,
   * requests for the stream's recording instead of its live output.
   */
  allow(sessionId: string, streamId: string, paused?: string, replay = false): void {
    const known = this.#allowed.get(sessionId);
    const sameStream = known?.streamId === streamId && known.replay === replay;
    if (sameStream && known?.paused === paused) return;
    this.#allowed.set(sessionId, { streamId, paused, replay });
    // A pause of a session the edge serves is a deny (kept, 402); an unknown one is made known as paused.
    this.#send(
      sameStream && paused !== undefined
        ? { type: 'deny', sessionId, paused }
        : allowCommand(sessionId, streamId, paused, replay),
    );
  }

  /** Refuses `sessionId` from now on: with `paused`, 402 with that reason (resumable by `allow`), else 401. */
  deny(sessionId: string, paused?: string): void {
    const known = this.#allowed.get(sessionId);
    if (!known) return;
    if (paused === undefined) this.#allowed.delete(sessionId);
    else if (known.paused === paused) return;
    else known.paused = paused;
    this.#send(paused === undefined ? { type: 'deny', sessionId } : { type: 'deny', sessionId, paused });
  }

  /**
   * Has the child report every delivery it made so far; resolves once that report was handled (or after
   * `timeoutMs` when the child is not there to answer, e.g. restarting: then nothing more can come from it).
   */
  flush(timeoutMs = 2_000): Promise<void> {
    const child = this.#child;
    if (!this.#ready || !child?.connected) return Promise.resolve();
    const id = this.#flushId++;
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#flushes.delete(id);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#flushes.set(id, done);
      child.send({ type: 'flush', id } satisfies EdgeCommand, (err) => {
        if (err) done();
      });
    });
  }

  /** Stops the child (disconnect, SIGKILL after the timeout) and any restart; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearTimeout(this.#restartTimer);
      this.#abortStart?.(new HlsEdgeError('HLS_EDGE_CLOSED', 'the HLS edge was closed while starting'));
      const child = this.#child;
      this.#child = undefined;
      this.#ready = false;
      if (child) await stopChild(child, this.#options.killTimeoutMs ?? 3_000);
    })();
    return this.#closing;
  }

  #send(command: EdgeCommand): void {
    const child = this.#child;
    if (!this.#ready || !child?.connected) return;
    child.send(command, (err) => {
      if (err) this.#log.warn({ err: err.message }, 'could not reach the HLS edge (it is sent the state on restart)');
    });
  }

  /** Forks a child listening on `port` and waits for its `ready`; supervises it afterwards. */
  #spawn(port: number): Promise<RunningChild> {
    if (this.#closing) return Promise.reject(new HlsEdgeError('HLS_EDGE_CLOSED', 'the HLS edge is closed'));
    const { log: _log, registry: _registry, publicUrl: _url, ...settings } = this.#options;
    const child = fork(ENTRY, [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        ...childEnvOf({ ...settings, port, reportIntervalMs: this.#options.reportIntervalMs ?? 250 }),
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'json',
    });
    this.#child = child;
    this.#ready = false;
    return new Promise<RunningChild>((resolve, reject) => {
      let started = false;
      const timeoutMs = this.#options.startTimeoutMs ?? 30_000;
      const fail = (err: Error): void => {
        if (started) return;
        started = true;
        clearTimeout(timer);
        this.#abortStart = undefined;
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        reject(err);
      };
      const timer = setTimeout(
        () => fail(new HlsEdgeError('HLS_EDGE_START_FAILED', `the HLS edge did not start within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#abortStart = fail;
      child.on('message', (raw: unknown) => {
        const parsed = EdgeReport.safeParse(raw);
        if (!parsed.success) {
          this.#log.warn({ err: parsed.error.message }, 'ignored a malformed report of the HLS edge');
          return;
        }
        const report = parsed.data;
        if (report.type === 'delivered') {
          this.#delivered(report);
          return;
        }
        if (report.type === 'flushed') {
          this.#flushes.get(report.id)?.();
          return;
        }
        if (started || this.#child !== child) return;
        started = true;
        clearTimeout(timer);
        this.#abortStart = undefined;
        this.#ready = true;
        this.#startedAt = Date.now();
        // A restarted child knows nothing: it gets the whole state before anything else.
        for (const [sessionId, s] of this.#allowed) {
          child.send(allowCommand(sessionId, s.streamId, s.paused, s.replay));
        }
        this.#log.info({ port: report.port, pid: child.pid }, 'HLS edge listening');
        resolve({ child, port: report.port });
      });
      child.on('error', (err) => {
        this.#log.warn({ err: err.message }, 'HLS edge process error');
        fail(new HlsEdgeError('HLS_EDGE_START_FAILED', `the HLS edge could not be started: ${err.message}`));
      });
      child.once('exit', (code, signal) => {
        fail(new HlsEdgeError('HLS_EDGE_START_FAILED', `the HLS edge exited before listening (${code ?? signal})`));
        if (this.#child !== child) return;
        this.#child = undefined;
        this.#ready = false;
        // Before the first `ready` the failure is start()'s to report, not a restart's to hide.
        if (this.#closing || this.#port === 0) return;
        this.#log.warn({ code, signal }, 'the HLS edge died; restarting it');
        this.#scheduleRestart();
      });
    });
  }

  #delivered(report: Extract<EdgeReport, { type: 'delivered' }>): void {
    let total = 0;
    for (const s in report.seconds) total += report.seconds[s] as number;
    if (total > 0) this.#metrics.delivered.inc(total);
    if (report.limited) {
      let refused = 0;
      for (const s in report.limited) refused += report.limited[s] as number;
      this.#metrics.limited.inc(refused);
      // A token used by more than one player (or a player far off the live edge): worth a look, not an error.
      this.#log.debug({ limited: report.limited }, "HLS fetches refused over one player's worth");
    }
    if (total > 0) this.onDelivered(report.seconds);
    if (report.replay && Object.keys(report.replay).length > 0) this.onReplayDelivered(report.replay);
  }

  #scheduleRestart(): void {
    const { min, max } = this.#options.restartDelayMs ?? { min: 100, max: 5_000 };
    // A child that ran a while starts the back-off over.
    if (this.#startedAt > 0 && Date.now() - this.#startedAt > 10 * max) this.#restartDelay = min;
    const delay = this.#restartDelay;
    this.#restartDelay = Math.min(max, this.#restartDelay * 2);
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => {
      if (this.#closing) return;
      this.#metrics.restarts.inc();
      this.#spawn(this.#port).catch((err: Error) => {
        // Its exit handler schedules the next attempt; a timeout without exit is killed there too.
        this.#log.warn({ err: err.message }, 'the HLS edge did not come back yet');
      });
    }, delay);
  }
}

function allowCommand(sessionId: string, streamId: string, paused: string | undefined, replay: boolean): EdgeCommand {
  return {
    type: 'allow',
    sessionId,
    streamId,
    ...(paused === undefined ? {} : { paused }),
    ...(replay ? { replay: true as const } : {}),
  };
}

/** Disconnects the IPC channel (the child stops on it), then SIGKILL after `killTimeoutMs`; resolves once it exited. */
async function stopChild(child: ChildProcess, killTimeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  if (child.connected) child.disconnect();
  else child.kill('SIGKILL');
  const timer = setTimeout(() => child.kill('SIGKILL'), killTimeoutMs);
  await exited;
  clearTimeout(timer);
}
