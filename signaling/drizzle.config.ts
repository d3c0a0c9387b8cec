import { defineConfig } from 'drizzle-kit';

// Migrations are generated from the schema files and committed: `npx drizzle-kit generate --name <what>` in signaling/.
export default defineConfig({
  dialect: 'postgresql',
  schema: ['./src/ledger/schema.ts', './src/chat/schema.ts', './src/ingest/schema.ts', './src/replays/schema.ts'],
  out: './drizzle',
  schemaFilter: ['signaling'],
  migrations: { table: '__signaling_migrations' },
});
