import { setMaxListeners } from 'node:events';
import { IpfsError } from './errors.ts';

/**
 * Tracks a pinner's in-flight operations: refuses new ones after close, rejects pending ones at once when closed,
 * aborted or timed out, and lets close wait until the backend has really finished with them before releasing it.
 */
export class OperationGate {
  readonly #abort = new AbortController();
  readonly #pending = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;

  constructor(private readonly what: string) {
    // Every in-flight operation listens to this signal; many concurrent ones are expected, not a leak.
    setMaxListeners(0, this.#abort.signal);
  }

  /** True once close has started. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Runs `work` with a signal that aborts on close, on the caller's signal or after `timeoutMs`; the returned
   * promise rejects as soon as the signal aborts, even if `work` (which may ignore the signal) is still running.
   */
  run<T>(
    operation: string,
    work: (signal: AbortSignal) => Promise<T>,
    options: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined } = {},
  ): Promise<T> {
    if (this.closed) return Promise.reject(this.#closedError(operation));
    const signals = [this.#abort.signal];
    if (options.signal) signals.push(options.signal);
    const timeout = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
    if (timeout) signals.push(timeout);
    const signal = AbortSignal.any(signals);
    setMaxListeners(0, signal);
    const classify = (err: unknown) => this.#classify(operation, err, options.signal, timeout);

    const task = (async () => {
      try {
        signal.throwIfAborted();
        return await work(signal);
      } catch (err) {
        throw classify(err);
      }
    })();
    this.#pending.add(task);
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(classify(signal.reason));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    // Whichever of the two loses the race must not surface as an unhandled rejection.
    aborted.catch(() => {});
    task
      .finally(() => {
        this.#pending.delete(task);
        signal.removeEventListener('abort', onAbort);
      })
      .catch(() => {});
    return Promise.race([task, aborted]);
  }

  /** Starts closing once: rejects pending work, waits for the backend to finish it, then runs `release`. */
  close(release: () => Promise<void>): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort(this.#closedError('operation'));
      await Promise.allSettled([...this.#pending]);
      await release();
    })();
    return this.#closing;
  }

  #closedError(operation: string): IpfsError {
    return new IpfsError('IPFS_CLOSED', `${this.what}: ${operation} after close`);
  }

  #classify(operation: string, err: unknown, caller: AbortSignal | undefined, timeout: AbortSignal | undefined) {
    if (this.#abort.signal.aborted) return this.#closedError(operation);
    if (err instanceof IpfsError) return err;
    if (caller?.aborted) return new IpfsError('IPFS_ABORTED', `${this.what}: ${operation} aborted`, { cause: err });
    if (timeout?.aborted) return new IpfsError('IPFS_TIMEOUT', `${this.what}: ${operation} timed out`, { cause: err });
    return err;
  }
}
