import { getTableColumns, type SQL, sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';

/** What runs a statement: the database or a transaction. */
interface Executor {
  execute(query: SQL): Promise<unknown>;
}

/**
 * Inserts `rows` into `table` in one statement with one parameter: the rows as JSON, unpacked by PostgreSQL's
 * `json_to_recordset`; rows whose key exists already are skipped (insert-or-ignore). The same rows through drizzle's
 * `insert().values()` bind a parameter per field (15 per settlement), which PGlite and node-postgres both serialize
 * one by one; one JSON text costs the client a `JSON.stringify`. Columns the rows leave unset take their defaults.
 */
export async function insertRowsAsJson<T extends PgTable>(
  tx: Executor,
  table: T,
  rows: readonly T['$inferInsert'][],
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.entries(getTableColumns(table)).filter(([key, column]) =>
    rows.some((r) => (r as Record<string, unknown>)[key] !== undefined || column.defaultFn !== undefined),
  );
  const values = rows.map((r) => {
    const out: Record<string, unknown> = {};
    for (const [key, column] of columns) {
      const value = (r as Record<string, unknown>)[key] ?? column.defaultFn?.();
      out[column.name] = value === undefined || value === null ? null : column.mapToDriverValue(value);
    }
    return out;
  });
  const json = JSON.stringify(values, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  const names = sql.join(
    columns.map(([, c]) => sql.identifier(c.name)),
    sql`, `,
  );
  const types = sql.join(
    columns.map(([, c]) => sql`${sql.identifier(c.name)} ${sql.raw(c.getSQLType())}`),
    sql`, `,
  );
  await tx.execute(
    sql`INSERT INTO ${table} (${names}) SELECT ${names} FROM json_to_recordset(${json}::json) AS x(${types}) ON CONFLICT DO NOTHING`,
  );
}
