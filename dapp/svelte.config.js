import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  compilerOptions: { runes: true },
  kit: {
    adapter: adapter({ out: 'build' }),
    // Tests run several dev servers in this folder at once. Each one rewrites all of `<outDir>/generated` when it
    // starts, and a server whose generated files change reloads every page it serves (a signed-in page signs out):
    // each test server gets an outDir of its own (see test/support/kitOutDir.ts).
    outDir: process.env.PERSECOND_KIT_OUT_DIR || '.svelte-kit',
    typescript: {
      // Project convention: relative imports carry the `.ts` extension.
      config: (tsconfig) => {
        tsconfig.compilerOptions.allowImportingTsExtensions = true;
        return tsconfig;
      },
    },
  },
};

export default config;
