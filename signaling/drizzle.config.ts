import { defineConfig } from 'drizzle-kit';

// Migrations are generated from the one schema file and committed: `npx drizzle-kit generate` in signaling/.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/ledger/schema.ts',
  out: './drizzle',
  schemaFilter: ['signaling'],
  migrations: { table: '__signaling_migrations' },
});
