// Process checks of the tests that start child processes (mediasoup workers, the HLS edge).

/** Whether a process with `pid` exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
