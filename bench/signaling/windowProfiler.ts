// CPU profiles of a running Node process over chosen windows only, through its inspector (node --inspect): the
// steady state of the server, without its start-up and the joins (which a whole-life --cpu-prof mixes in).
import { mkdirSync, writeFileSync } from 'node:fs';
import WebSocket from 'ws';

/** Starts and stops the V8 sampling profiler of the process whose inspector listens on `port`. */
export class WindowProfiler {
  #ws: WebSocket | undefined;
  #nextId = 1;
  readonly #waiting = new Map<number, { resolve(r: unknown): void; reject(e: Error): void }>();

  constructor(readonly port: number) {}

  /** Connects to the inspector (the process must be started with `--inspect=127.0.0.1:<port>`). */
  async connect(): Promise<void> {
    const targets = (await (await fetch(`http://127.0.0.1:${this.port}/json/list`)).json()) as {
      webSocketDebuggerUrl: string;
    }[];
    const url = targets[0]?.webSocketDebuggerUrl;
    if (!url) throw new Error(`no inspector target on port ${this.port}`);
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
      const waiter = msg.id === undefined ? undefined : this.#waiting.get(msg.id);
      if (!waiter) return;
      this.#waiting.delete(msg.id as number);
      if (msg.error) waiter.reject(new Error(msg.error.message));
      else waiter.resolve(msg.result);
    });
    this.#ws = ws;
    await this.#send('Profiler.enable');
    // 1 ms: fine enough for the hot paths, light enough not to change them.
    await this.#send('Profiler.setSamplingInterval', { interval: 1000 });
  }

  /** Starts sampling. */
  start(): Promise<unknown> {
    return this.#send('Profiler.start');
  }

  /** Stops sampling and writes the profile (.cpuprofile JSON) to `file`. */
  async stop(file: string): Promise<void> {
    const { profile } = (await this.#send('Profiler.stop')) as { profile: unknown };
    writeFileSync(file, JSON.stringify(profile));
  }

  /** Closes the inspector connection (the process keeps running). */
  close(): void {
    this.#ws?.close();
    this.#ws = undefined;
  }

  #send(method: string, params: object = {}): Promise<unknown> {
    const ws = this.#ws;
    if (!ws) return Promise.reject(new Error('not connected'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  }
}

/**
 * With `on`, a profiler connected to the inspector on `port` and `dir` made for its profiles; `onClose` is handed its
 * close (the bench's cleanups). Undefined otherwise.
 */
export async function openWindowProfiler(
  on: boolean,
  port: number,
  dir: string,
  onClose: (close: () => void) => void,
): Promise<WindowProfiler | undefined> {
  if (!on) return undefined;
  const profiler = new WindowProfiler(port);
  await profiler.connect();
  mkdirSync(dir, { recursive: true });
  onClose(() => profiler.close());
  return profiler;
}
