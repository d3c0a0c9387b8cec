// Builds the test extension bundle once per test file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { BrowserContext } from 'playwright-core';

/** Bundles the test extension to a temporary IIFE file; `dispose` removes it. */
export async function buildInjectedWallet(): Promise<{ path: string; dispose(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'persecond-test-wallet-'));
  const path = join(dir, 'inject-wallet.js');
  await build({
    entryPoints: [join(dirname(fileURLToPath(import.meta.url)), 'injectedWalletEntry.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    outfile: path,
    logLevel: 'silent',
  });
  return { path, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Installs the test extension in every page of `context`, with the given account URIs. */
export async function injectWallet(context: BrowserContext, bundlePath: string, uris: string[]): Promise<void> {
  await context.addInitScript(
    (cfg) => {
      (globalThis as { __TEST_WALLET__?: unknown }).__TEST_WALLET__ = cfg;
    },
    { name: 'test-extension', uris },
  );
  await context.addInitScript({ path: bundlePath });
}
