// A SvelteKit output folder of its own for one dev server a test starts: several run in dapp/ at once, and one that
// starts rewrites the generated files of a shared folder, which makes the others reload their pages.

import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dappDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The env that gives one dev server its own outDir (under dapp/.svelte-kit-runs/), and its removal. */
export function ownKitOutDir(): { env: { PERSECOND_KIT_OUT_DIR: string }; remove(): void } {
  const relative = join('.svelte-kit-runs', randomBytes(6).toString('hex'));
  return {
    env: { PERSECOND_KIT_OUT_DIR: relative },
    remove: () => rmSync(join(dappDir, relative), { recursive: true, force: true }),
  };
}
