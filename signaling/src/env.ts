import { z } from 'zod';

/**
 * Parses the variables of `env` that `schema` names; empty variables (`FOO=`) count as unset, as in most deployment
 * tools. Throws `invalid <what> configuration: …` naming each bad variable.
 */
export function parseEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv, what: string): z.output<T> {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) throw new Error(`invalid ${what} configuration: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
