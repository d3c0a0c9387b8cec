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
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
