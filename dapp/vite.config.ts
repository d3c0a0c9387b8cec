import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [sveltekit()],
  // Pre-bundle the heavy browser libraries up front so the first page load never triggers a re-optimise reload.
  optimizeDeps: {
    include: [
      '@polkadot/api',
      '@polkadot/extension-dapp',
      '@polkadot/keyring',
      '@polkadot/util',
      '@polkadot/util-crypto',
      'hls.js',
      'mediasoup-client',
      'socket.io-client',
      'zod',
    ],
  },
  // A dev server a test starts pre-bundles into its own cache (under its own outDir): the optimizer's hash differs per
  // outDir, so servers sharing node_modules/.vite re-optimized over each other, and a page of one got
  // "504 Outdated Optimize Dep" for a module it loaded later (going live failed in a stressed run).
  ...(process.env.PERSECOND_KIT_OUT_DIR ? { cacheDir: `${process.env.PERSECOND_KIT_OUT_DIR}/vite` } : {}),
  server: {
    host: '127.0.0.1',
    // A dev server a test starts (its own kit outDir, see svelte.config.js) must not watch the other servers' output:
    // a tsconfig.json written there makes Vite reload every page it serves. That includes the default `.svelte-kit`,
    // which `npm start` under scripts/test/start.test.ts rewrites while other tests' pages are open (a stressed run
    // lost a live studio to "changed tsconfig file detected … forcing full-reload"). Its own output is written once.
    ...(process.env.PERSECOND_KIT_OUT_DIR
      ? { watch: { ignored: ['**/.svelte-kit-runs/**', '**/.svelte-kit/**'] } }
      : {}),
  },
  preview: { host: '127.0.0.1' },
});
