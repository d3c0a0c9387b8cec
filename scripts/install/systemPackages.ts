import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { log } from './log.ts';

/**
 * Debian packages the stack needs: media tools, the TURN server (coturn), the test browser and the tests' firewall
 * (iptables, the UDP-blocked viewer), nginx (the TLS proxy of deploy/nginx/, run in front of the stack by
 * dapp/test/tls.test.ts), and the mediasoup worker's build/runtime libraries.
 */
export const SYSTEM_PACKAGES = [
  'ffmpeg',
  'chromium',
  'chromium-driver',
  'coturn',
  'iptables',
  'nginx',
  'fonts-liberation',
  'build-essential',
  'pkg-config',
  'python3',
  'python3-invoke',
  'meson',
  'ninja-build',
  'libssl-dev',
  'libuv1-dev',
  'libsrtp2-dev',
  'libusrsctp-dev',
  'libabsl-dev',
  'libflatbuffers-dev',
  'flatbuffers-compiler',
];

function missingDebianPackages(pkgs: string[]): string[] {
  const out = spawnSync('dpkg-query', ['-W', `-f=\${Package} \${Status}\n`, ...pkgs], { encoding: 'utf8' });
  const installed = new Set(
    out.stdout
      .split('\n')
      .filter((l) => l.endsWith(' installed'))
      .map((l) => l.split(' ')[0]),
  );
  return pkgs.filter((p) => !installed.has(p));
}

/** Installs missing Debian packages when running as root; otherwise names them and fails. */
export function ensureSystemPackages(): void {
  if (!existsSync('/usr/bin/dpkg-query')) {
    log.warn('not a Debian system: install ffmpeg, chromium and the mediasoup worker build tools yourself');
    return;
  }
  const missing = missingDebianPackages(SYSTEM_PACKAGES);
  if (missing.length === 0) {
    log.info('system packages: all present');
    return;
  }
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing system packages: ${missing.join(' ')}\n` +
        `  run: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing.join(' ')}\n` +
        '  then run npm install again',
    );
  }
  log.info(`system packages: installing ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
  // Debian enables and starts coturn.service on install, with its default configuration on every interface (and
  // port 3478): the stack runs its own coturn on loopback (scripts/start/coturn.ts), so the system one is turned off.
  if (missing.includes('coturn') && existsSync('/run/systemd/system')) {
    spawnSync('systemctl', ['disable', '--now', 'coturn.service'], { stdio: 'inherit' });
  }
  const still = missingDebianPackages(SYSTEM_PACKAGES);
  if (still.length > 0) throw new Error(`apt-get could not install: ${still.join(' ')}`);
}
