// JSON over HTTP with validation at the boundary: every response is parsed with a zod schema.
import { z } from 'zod';
import { isErrorCode, UserFacingError } from '../errors.ts';

const ErrorBody = z.object({
  code: z.string(),
  message: z.string().optional(),
  details: z.record(z.string(), z.string()).optional(),
});

/** Fetches `url` and parses its JSON body with `schema`; failures become `UserFacingError`s. */
export async function getJson<S extends z.ZodType>(
  url: string,
  schema: S,
  init: RequestInit & { fetch?: typeof fetch } = {},
): Promise<z.infer<S>> {
  const { fetch: f = fetch, ...rest } = init;
  let res: Response;
  try {
    res = await f(url, { headers: { accept: 'application/json' }, ...rest });
  } catch {
    throw new UserFacingError('NETWORK', 'The server cannot be reached right now.');
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const err = ErrorBody.safeParse(body);
    if (err.success && isErrorCode(err.data.code)) throw UserFacingError.fromCode(err.data.code, err.data.details);
    if (res.status >= 502 && res.status <= 504)
      throw new UserFacingError('NETWORK', 'The service is not available right now. Please try again shortly.');
    throw new UserFacingError('NETWORK', `The server could not answer this request (error ${res.status}).`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new UserFacingError('INTERNAL', 'The server sent an answer this app does not understand.');
  return parsed.data;
}

/** POSTs `body` as JSON (with the session cookie) and parses the answer with `schema`. */
export function postJson<S extends z.ZodType>(
  url: string,
  body: unknown,
  schema: S,
  f: typeof fetch = fetch,
): Promise<z.infer<S>> {
  return getJson(url, schema, {
    fetch: f,
    method: 'POST',
    credentials: 'include',
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}
