import { defineConfig } from 'drizzle-kit';

// Migrations are generated from the one schema file and committed; `npm run db:generate -w @persecond/indexer`.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
});
