// Debian's coturn as the test's own process on loopback, configured as `npm start` runs it (scripts/start/coturn.ts):
// TURN REST API credentials under a secret made for this run, relays on 127.0.0.1, on free ports.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTurnserver, loopbackTurnArgs, loopbackTurnUrls, tcpReachable } from '../../../scripts/start/coturn.ts';
import { freePort } from '../support/freePort.ts';

/** A running coturn: where it listens, the secret, its relay ports, its log; `close()` kills it and removes its dir. */
export interface Coturn {
  port: number;
  urls: string[];
  secret: string;
  minPort: number;
  maxPort: number;
  log(): string;
  close(): Promise<void>;
}

/** Starts coturn on a free loopback port and waits until it accepts TCP. */
export async function startCoturn(): Promise<Coturn> {
  const command = findTurnserver();
  if (!command) throw new Error('coturn (turnserver) is missing: npm install adds it on Debian');
  const dir = mkdtempSync(join(tmpdir(), 'persecond-coturn-'));
  const port = await freePort();
  const secret = randomBytes(32).toString('base64url');
  // Relays apart from the SFU's RTC ports (40000–49999) and from `npm start`'s coturn (50000–50999).
  const minPort = 51_000 + Math.floor(Math.random() * 8) * 1_000;
  const maxPort = minPort + 999;
  const child: ChildProcess = spawn(command, loopbackTurnArgs({ dir, port, secret, minPort, maxPort }), {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const logFile = join(dir, 'turn.log');
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await tcpReachable(port);
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        const text = log();
        await close();
        throw new Error(`coturn did not come up on 127.0.0.1:${port}: ${(err as Error).message}\n${text}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { port, urls: loopbackTurnUrls(port), secret, minPort, maxPort, log, close };
}
