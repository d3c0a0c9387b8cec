// A private PostgreSQL server for fault tests: its own cluster (initdb) in a temporary folder, on a free port, with
// trust authentication, that a test can SIGKILL and start again — never the machine's own service.
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/freePort.ts';
import { isAlive } from '../support/processes.ts';

const run = promisify(execFile);

/** A running (or killed) private PostgreSQL server. */
export interface PostgresCluster {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  readonly port: number;
  /** PID of the running postmaster (undefined while stopped). */
  readonly pid: number | undefined;
  /** SIGKILLs the postmaster and every backend it had (a crash, not a shutdown); resolves once all are gone. */
  kill(): Promise<void>;
  /** Starts the server again on the same data and port (crash recovery runs); resolves once it accepts connections. */
  start(): Promise<void>;
  /** Kills what still runs and removes the folder; safe to call twice. */
  close(): Promise<void>;
}

/** The newest PostgreSQL of the Debian packages (`/usr/lib/postgresql/<major>/bin`). */
function binDir(): string {
  const majors = readdirSync('/usr/lib/postgresql')
    .filter((d) => /^\d+$/.test(d))
    .sort((a, b) => Number(b) - Number(a));
  if (!majors[0]) throw new Error('no PostgreSQL under /usr/lib/postgresql');
  return join('/usr/lib/postgresql', majors[0], 'bin');
}

/** The uid and gid of the `postgres` user, when this process runs as root (initdb refuses to run as root). */
async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** PIDs whose parent is `pid` (read before the parent is killed: orphans are adopted by init). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command's closing parenthesis: state, ppid, …
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // The process ended while being read.
    }
  }
  return children;
}

/** Whether `pid` still runs: a zombie (killed, not reaped yet by whoever adopted it) does not. */
function running(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitGone(pids: readonly number[], ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (pids.some(running)) {
    if (Date.now() > deadline) throw new Error(`processes ${pids.filter(running).join(', ')} outlived SIGKILL`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Creates a cluster in a new temporary folder and starts it on a free port. */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'persecond-pg-'));
  const data = join(dir, 'data');
  const user = await postgresUser();
  if (user) chownSync(dir, user.uid, user.gid);
  // As the postgres user when we are root; the binaries refuse to run a cluster as root.
  const asOwner = (cmd: string, args: string[]) =>
    user
      ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { cwd: dir })
      : run(join(bin, cmd), args, { cwd: dir });
  const port = await freePort();
  let pid: number | undefined;
  let closed: Promise<void> | undefined;

  const start = async (): Promise<void> => {
    // Unix socket in our folder (not /var/run/postgresql), TCP on loopback only; durability is not what is tested.
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
    await asOwner('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-o', options, '-w', '-t', '60', 'start']);
    pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  };
  const kill = async (): Promise<void> => {
    const postmaster = pid;
    if (postmaster === undefined) return;
    const all = [postmaster, ...childrenOf(postmaster)];
    for (const p of all) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    pid = undefined;
    await waitGone(all);
  };

  try {
    await asOwner('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    await start();
  } catch (err) {
    await kill().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    get pid() {
      return pid;
    },
    kill,
    start,
    close() {
      closed ??= (async () => {
        await kill();
        rmSync(dir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
