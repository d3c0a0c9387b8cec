import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cachedWorkerBinPath, MEDIASOUP_VERSION, persecondCacheDir } from '../../sfu/src/workerBin.ts';
import { log } from './log.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

/** A worker binary is usable when, started without MEDIASOUP_VERSION, it exits with 41 (see mediasoup's main.cpp). */
export function workerRuns(bin: string): boolean {
  if (!existsSync(bin)) return false;
  const r = spawnSync(bin, [], { env: {}, stdio: 'ignore', timeout: 10_000 });
  return r.status === 41;
}

async function tryPrebuilt(version: string, target: string): Promise<boolean> {
  const kernel = Number(release().split('.')[0]);
  const name = `mediasoup-worker-${version}-${process.platform}-${process.arch}${process.platform === 'linux' ? `-kernel${kernel}` : ''}.tgz`;
  const url = `https://github.com/versatica/mediasoup/releases/download/${version}/${name}`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(20_000) });
    if (!res.ok) {
      log.info(`no prebuilt mediasoup worker (${res.status})`);
      return false;
    }
    const tgz = Buffer.from(await res.arrayBuffer());
    const dir = dirname(target);
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['xzf', '-', '-C', dir], { input: tgz });
    chmodSync(target, 0o755);
    if (workerRuns(target)) return true;
    log.info('prebuilt mediasoup worker does not run on this host');
    rmSync(target, { force: true });
    return false;
  } catch (err) {
    log.info(`prebuilt mediasoup worker unavailable (${(err as Error).message}); building from source`);
    return false;
  }
}

/** Puts `file` at `target` by a rename, so an install running at the same time never sees half a binary. */
function placeAtomically(file: string, target: string): void {
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.partial-${process.pid}`;
  copyFileSync(file, partial);
  chmodSync(partial, 0o755);
  renameSync(partial, target);
}

/**
 * Builds the worker from the npm tarball against the system libraries (Debian), without meson wraps or PyPI. Each
 * install builds in a directory of its own: two installs at once on one machine (a clone beside the checkout) once
 * shared one directory and removed each other's object files mid-build.
 */
function buildFromSource(version: string, target: string): void {
  const builds = join(persecondCacheDir(), 'build');
  mkdirSync(builds, { recursive: true });
  const buildRoot = mkdtempSync(join(builds, `mediasoup-${version}-`));
  try {
    log.info(`building mediasoup worker ${version} from source in ${buildRoot} (takes 4-6 minutes on 2 cores)`);
    const tarball = execFileSync('npm', ['pack', `mediasoup@${version}`, '--silent', '--pack-destination', buildRoot], {
      encoding: 'utf8',
      cwd: buildRoot,
    })
      .trim()
      .split('\n')
      .pop() as string;
    execFileSync('tar', ['xzf', join(buildRoot, tarball), '-C', buildRoot]);
    const worker = join(buildRoot, 'package', 'worker');
    execFileSync('/usr/bin/python3', [join(HERE, 'patch-mediasoup-worker.py'), worker], { stdio: 'inherit' });
    const out = join(worker, 'out', 'Release', 'build');
    const run = (args: string[]) => execFileSync('meson', args, { cwd: worker, stdio: 'inherit' });
    run([
      'setup',
      out,
      '--buildtype',
      'release',
      '-Db_ndebug=true',
      '--wrap-mode=nodownload',
      '-Dms_disable_liburing=true',
    ]);
    // flatbuffers code generation has no dependency edge to the worker target in meson.build: build it first.
    run(['compile', '-C', out, 'flatbuffers-generator']);
    run(['compile', '-C', out, `-j${availableParallelism()}`, 'mediasoup-worker']);
    const built = join(out, 'mediasoup-worker');
    if (!workerRuns(built)) throw new Error(`built mediasoup worker at ${built} does not run`);
    placeAtomically(built, target);
  } finally {
    rmSync(buildRoot, { recursive: true, force: true });
  }
}

/** Links node_modules/mediasoup's default worker path to the cached binary, so mediasoup finds it even without the env var. */
function linkIntoPackage(root: string, bin: string): void {
  const pkgWorker = join(root, 'node_modules', 'mediasoup', 'worker', 'out', 'Release', 'mediasoup-worker');
  if (!existsSync(join(root, 'node_modules', 'mediasoup', 'package.json'))) return;
  try {
    if (lstatSync(pkgWorker, { throwIfNoEntry: false })) rmSync(pkgWorker, { force: true });
    mkdirSync(dirname(pkgWorker), { recursive: true });
    symlinkSync(bin, pkgWorker);
  } catch (err) {
    log.warn(`could not link worker into node_modules/mediasoup: ${(err as Error).message}`);
  }
}

/**
 * Makes sure a mediasoup worker binary exists for the pinned version: the user's MEDIASOUP_WORKER_BIN, the cache,
 * a worker mediasoup built itself, mediasoup's prebuilt download, or a build from source (cached, keyed by version).
 * Returns the binary's path.
 */
export async function ensureMediasoupWorker(root: string): Promise<string> {
  const pkgJson = join(root, 'node_modules', 'mediasoup', 'package.json');
  const version = existsSync(pkgJson)
    ? (JSON.parse(readFileSync(pkgJson, 'utf8')).version as string)
    : MEDIASOUP_VERSION;
  if (version !== MEDIASOUP_VERSION)
    log.warn(`installed mediasoup ${version} differs from the pinned ${MEDIASOUP_VERSION}`);
  const user = process.env.MEDIASOUP_WORKER_BIN;
  if (user) {
    if (!workerRuns(user)) throw new Error(`MEDIASOUP_WORKER_BIN=${user} is not a runnable mediasoup worker`);
    log.info(`mediasoup worker: using MEDIASOUP_WORKER_BIN=${user}`);
    return user;
  }
  const target = cachedWorkerBinPath(version);
  if (workerRuns(target)) {
    log.info(`mediasoup worker: cached at ${target}`);
  } else {
    const own = join(root, 'node_modules', 'mediasoup', 'worker', 'out', 'Release', 'mediasoup-worker');
    if (workerRuns(own) && !lstatSync(own).isSymbolicLink()) {
      placeAtomically(own, target);
      log.info(`mediasoup worker: cached the one mediasoup built at ${target}`);
    } else if (!(await tryPrebuilt(version, target))) {
      buildFromSource(version, target);
      log.info(`mediasoup worker: built and cached at ${target}`);
    }
  }
  writeFileSync(join(dirname(target), 'VERSION'), `${version}\n`);
  return target;
}

/**
 * mediasoup is an optional dependency because its own postinstall needs GitHub or PyPI; when that fails npm drops
 * the package. Once the worker is cached, reinstall it without scripts and point it at the cached worker.
 */
export function restoreMediasoupPackage(root: string, bin: string): void {
  if (!existsSync(join(root, 'node_modules', 'mediasoup', 'package.json'))) {
    log.info('mediasoup package: restoring it with the cached worker (its own postinstall cannot run offline)');
    // --no-save: the tree comes from package-lock.json as committed; this reinstall never rewrites it.
    execFileSync('npm', ['install', '--ignore-scripts', '--no-save', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, MEDIASOUP_WORKER_BIN: bin },
    });
  }
  if (!existsSync(join(root, 'node_modules', 'mediasoup', 'package.json'))) {
    throw new Error('mediasoup is missing from node_modules after reinstalling it');
  }
  linkIntoPackage(root, bin);
}
