import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `check` until it returns a truthy value or the time is up (then throws with `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Polls `read` until the count reaches `target`. Time runs from the last progress, not from the start, so a busy
 * machine that keeps moving passes and a stuck pipeline fails: `firstMs` for the count to move at all, then
 * `stallMs` without it moving. Throws with the count reached.
 */
export async function waitForCount(
  what: string,
  read: () => Promise<number>,
  target: number,
  { firstMs = 45_000, stallMs = 15_000, everyMs = 200 } = {},
): Promise<number> {
  let last = await read();
  let deadline = Date.now() + firstMs;
  for (;;) {
    if (last >= target) return last;
    if (Date.now() > deadline) {
      throw new Error(`waiting for ${target} ${what}: stuck at ${last} (no progress within the allowance)`);
    }
    await sleep(everyMs);
    const now = await read();
    if (now > last) deadline = Date.now() + stallMs;
    last = now;
  }
}

/** Polls `read` until it returns the same value twice `stillMs` apart (or the time is up); resolves with it. */
export async function waitForStill(read: () => number, stillMs = 1_000, timeoutMs = 20_000): Promise<number> {
  let last = read();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await sleep(stillMs);
    const now = read();
    if (now === last) return now;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for a value to stand still`);
    last = now;
  }
}

/** True while a process with this pid exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
