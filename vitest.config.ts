import { defineConfig } from 'vitest/config';

// One run over every workspace's test/ folder. Real parts (chain, mediasoup, ffmpeg, Chromium) are slow to start,
// so timeouts are generous and at most two test files run at once on these 2-core machines.
export default defineConfig({
  test: {
    include: ['*/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'dapp/.svelte-kit/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
    setupFiles: ['./scripts/vitest.setup.ts'],
  },
});
