// A strict network for one test process, on this machine only: a uid of its own whose UDP out of the loopback
// interface the kernel's firewall drops (iptables `-o lo -p udp -m owner --uid-owner <uid> -j DROP`). Nothing else
// is touched: other uids, other interfaces and TCP pass as before. Needs root (CAP_NET_ADMIN, and setuid to spawn).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A uid no account and no process uses (so the rule drops nothing but the test's own children). */
export function unusedUid(): number {
  const taken = new Set(
    readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((l) => Number(l.split(':')[2])),
  );
  for (let i = 0; i < 1000; i++) {
    const uid = 61_000 + Math.floor(Math.random() * 3_000);
    if (!taken.has(uid) && spawnSync('pgrep', ['-u', String(uid)]).status === 1) return uid;
  }
  throw new Error('no unused uid found');
}

/** What a blocked uid needs to run node: a home and temporary folder of its own. */
export interface BlockedUser {
  uid: number;
  home: string;
  /** The environment its processes run with (no inherited secrets or node options). */
  env: NodeJS.ProcessEnv;
  /** Removes the firewall rules (IPv4 and IPv6) and the home folder; safe to call twice, also from `exit`. */
  remove(): void;
}

/** The rule, as `iptables` takes it after `-I`/`-D OUTPUT`. */
function ruleOf(uid: number, tag: string): string[] {
  return [
    'OUTPUT',
    '-o',
    'lo',
    '-p',
    'udp',
    '-m',
    'owner',
    '--uid-owner',
    String(uid),
    '-m',
    'comment',
    '--comment',
    tag,
    '-j',
    'DROP',
  ];
}

/** Whether `tool` (iptables, ip6tables) is installed. */
export function hasTool(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

const TAG = 'persecond-udp-block-';

/** Removes the rules of earlier runs whose process is gone (killed before it could remove them). */
function purgeStaleRules(tools: string[]): void {
  for (const tool of tools) {
    const rules = spawnSync(tool, ['-w', '10', '-S', 'OUTPUT'], { encoding: 'utf8' }).stdout.split('\n');
    for (const rule of rules) {
      const pid = new RegExp(`${TAG}(\\d+)-`).exec(rule)?.[1];
      if (!pid || rule.split(' ')[0] !== '-A' || isAlive(Number(pid))) continue;
      spawnSync(tool, ['-w', '10', '-D', ...rule.split(' ').slice(1)]);
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Creates the blocked uid: firewall rules first, removed on `remove()` or when this process exits, however. */
export function blockLoopbackUdp(): BlockedUser {
  if (process.getuid?.() !== 0) throw new Error('the UDP-blocked viewer test needs root (iptables, setuid)');
  if (!hasTool('iptables')) throw new Error('iptables is missing (npm install adds it on Debian)');
  const tools = ['iptables', ...(hasTool('ip6tables') ? ['ip6tables'] : [])];
  purgeStaleRules(tools);
  const uid = unusedUid();
  const tag = `${TAG}${process.pid}-${uid}`;
  const added: string[] = [];
  const home = mkdtempSync(join(tmpdir(), 'persecond-udp-blocked-'));
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    process.off('exit', remove);
    for (const tool of added) spawnSync(tool, ['-w', '10', '-D', ...ruleOf(uid, tag)]);
    rmSync(home, { recursive: true, force: true });
  };
  process.on('exit', remove);
  try {
    for (const tool of tools) {
      execFileSync(tool, ['-w', '10', '-I', ...ruleOf(uid, tag)], { stdio: ['ignore', 'ignore', 'pipe'] });
      added.push(tool);
    }
    chownSync(home, uid, uid);
    chmodSync(home, 0o700);
  } catch (err) {
    remove();
    throw err;
  }
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, TMPDIR: home, LANG: 'C.UTF-8' };
  return { uid, home, env, remove };
}

/** Whether the firewall holds a rule for `uid` now. */
export function ruleInPlace(uid: number): boolean {
  const out = spawnSync('iptables', ['-w', '10', '-S', 'OUTPUT'], { encoding: 'utf8' }).stdout;
  return out.split('\n').some((l) => l.includes(`--uid-owner ${uid}`) && l.includes('-j DROP'));
}

/** Sends `count` datagrams `payload` to 127.0.0.1:`port` from a node child running as `uid` (undefined: ours). */
async function sendAs(uid: number | undefined, port: number, payload: string, count: number): Promise<void> {
  const script = `const s=require('node:dgram').createSocket('udp4');let n=0;const f=()=>s.send(${JSON.stringify(payload)},${port},'127.0.0.1',()=>{if(++n<${count})f();else s.close()});f();`;
  const child = spawn(process.execPath, ['-e', script], {
    ...(uid === undefined ? {} : { uid, gid: uid }),
    env: { PATH: process.env.PATH },
    stdio: 'ignore',
  });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the UDP sender exited with ${code}`);
}

/**
 * How many of `count` UDP datagrams sent to a loopback socket of this process by a child running as `uid` arrived.
 * A child of this process's own uid sends `count` more afterwards: the kernel queues a loopback datagram as it is
 * sent, so once those arrived, any of the first that was not dropped has arrived too (no timing involved).
 */
export async function loopbackUdpDeliveredFrom(uid: number, count = 5): Promise<{ blocked: number; control: number }> {
  const server = createSocket('udp4');
  const got = { blocked: 0, control: 0 };
  server.on('message', (m) => {
    if (m.toString() === 'b') got.blocked++;
    else got.control++;
  });
  await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
  const { port } = server.address();
  try {
    await sendAs(uid, port, 'b', count);
    await sendAs(undefined, port, 'c', count);
    const deadline = Date.now() + 30_000;
    while (got.control < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return { ...got };
  } finally {
    server.close();
  }
}
