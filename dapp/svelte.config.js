import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  compilerOptions: { runes: true },
  kit: {
    adapter: adapter({ out: 'build' }),
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
