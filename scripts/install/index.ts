// Root postinstall: system packages, the mediasoup worker (cached outside node_modules), the dev chain genesis.
// Idempotent: a second run only checks and returns within seconds.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { log } from './log.ts';
import { ensureMediasoupWorker, restoreMediasoupPackage } from './mediasoupWorker.ts';
import { ensureSystemPackages } from './systemPackages.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function main(): Promise<void> {
  const t0 = Date.now();
  ensureSystemPackages();
  const bin = await ensureMediasoupWorker(root);
  restoreMediasoupPackage(root, bin);
  const { prepareDevChainGenesis } = await import('@persecond/contracts-client');
  const genesis = await prepareDevChainGenesis();
  log.info(`dev chain genesis: ${genesis}`);
  log.info(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

main().catch((err: Error) => {
  console.error(`[persecond install] failed: ${err.message}`);
  process.exit(1);
});
