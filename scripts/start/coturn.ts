// A coturn (Debian's `turnserver`) of our own on loopback, as `npm start` and the UDP-blocked viewer test run it:
// TURN REST API credentials (`use-auth-secret`) under a secret generated per run, relays on loopback only.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

/** Where Debian's coturn package puts the server, or undefined when it is not installed. */
export function findTurnserver(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v turnserver'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path !== '' ? path : undefined;
}

/** How a loopback coturn is set up. */
export interface LoopbackTurn {
  /** Folder of its configuration, pid file and user database (mode 0700: the secret is in the configuration). */
  dir: string;
  /** TURN/STUN port on 127.0.0.1, UDP and TCP. */
  port: number;
  /** The shared secret signaling mints credentials under (TURN_SECRET). */
  secret: string;
  /** Relay ports (kept apart from the SFU's 40000–49999). */
  minPort: number;
  maxPort: number;
}

/** The TURN URLs clients get for a loopback coturn on `port` (TURN_URLS): UDP first, TCP when UDP is blocked. */
export function loopbackTurnUrls(port: number): string[] {
  return [`turn:127.0.0.1:${port}?transport=udp`, `turn:127.0.0.1:${port}?transport=tcp`];
}

/**
 * Writes the configuration of a loopback coturn into `turn.dir` and returns the arguments to start it with. The secret
 * goes into the file (not the command line, which every local user can read).
 */
export function loopbackTurnArgs(turn: LoopbackTurn): string[] {
  mkdirSync(turn.dir, { recursive: true, mode: 0o700 });
  const conf = join(turn.dir, 'turnserver.conf');
  const lines = [
    'listening-ip=127.0.0.1',
    'relay-ip=127.0.0.1',
    `listening-port=${turn.port}`,
    `min-port=${turn.minPort}`,
    `max-port=${turn.maxPort}`,
    'realm=persecond.local',
    'use-auth-secret',
    `static-auth-secret=${turn.secret}`,
    'fingerprint',
    'no-tls',
    'no-dtls',
    'no-cli',
    'no-multicast-peers',
    // The SFU announces 127.0.0.1 here: without this coturn refuses to relay to it.
    'allow-loopback-peers',
    'no-software-attribute',
    `pidfile=${join(turn.dir, 'turnserver.pid')}`,
    `userdb=${join(turn.dir, 'turndb')}`,
    `log-file=${join(turn.dir, 'turn.log')}`,
    'simple-log',
    'no-stdout-log',
  ];
  writeFileSync(conf, `${lines.join('\n')}\n`, { mode: 0o600 });
  return ['-c', conf];
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; rejects otherwise. */
export function tcpReachable(port: number, timeoutMs = 2_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`127.0.0.1:${port} timed out`));
    });
    socket.once('error', reject);
  });
}

/** Whether nothing listens on 127.0.0.1:`port` over TCP (e.g. a system coturn on 3478): tries to listen there. */
export function loopbackPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
