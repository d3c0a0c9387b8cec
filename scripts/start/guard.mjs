// Runs one service of `npm start` and ties its life to the orchestrator's: when our stdin (a pipe from the
// orchestrator) closes — the orchestrator exited or was killed — the service and everything in its process group
// get SIGTERM, then SIGKILL after the grace period. Usage: node guard.mjs <command> [args…]
import { spawn } from 'node:child_process';

const GRACE_MS = 10_000;
const [command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });

function killGroup(signal) {
  try {
    // We lead the process group the orchestrator created (detached spawn): this reaches every descendant.
    process.kill(-process.pid, signal);
  } catch {
    // already gone
  }
}

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  child.kill('SIGTERM');
  setTimeout(() => killGroup('SIGKILL'), GRACE_MS).unref();
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
child.on('exit', (code, signal) => {
  process.stdin.destroy();
  process.exitCode = code ?? (signal ? 1 : 0);
});
