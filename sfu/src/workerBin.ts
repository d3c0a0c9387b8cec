import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Version of mediasoup the project pins; the cached worker binary is keyed by it. */
export const MEDIASOUP_VERSION = '3.19.3';

/** Root of Persecond's machine-wide cache (outside node_modules, survives reinstalls). */
export function persecondCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PERSECOND_CACHE_DIR) return env.PERSECOND_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'persecond');
}

/** Where `npm install` caches the mediasoup worker for this version, platform and arch. */
export function cachedWorkerBinPath(version = MEDIASOUP_VERSION, env: NodeJS.ProcessEnv = process.env): string {
  return join(
    persecondCacheDir(env),
    'mediasoup-worker',
    `${version}-${process.platform}-${process.arch}`,
    'mediasoup-worker',
  );
}

/**
 * Points mediasoup at the cached worker unless MEDIASOUP_WORKER_BIN is already set.
 * Must run before the first `import 'mediasoup'`: mediasoup reads the variable at module load.
 */
export function useCachedWorkerBin(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MEDIASOUP_WORKER_BIN) return env.MEDIASOUP_WORKER_BIN;
  const bin = cachedWorkerBinPath(MEDIASOUP_VERSION, env);
  if (existsSync(bin)) env.MEDIASOUP_WORKER_BIN = bin;
  return env.MEDIASOUP_WORKER_BIN;
}
