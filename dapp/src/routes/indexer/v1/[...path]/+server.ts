// Same-origin window onto the indexer's read API (GET /v1/...), so the browser needs no cross-origin access to it.
import { error } from '@sveltejs/kit';
import { config } from '$lib/config.ts';
import type { RequestHandler } from './$types';

const PATH = /^[A-Za-z0-9_\-/]{1,256}$/;

/** Forwards a GET to the indexer and passes its JSON answer (and status) through. */
export const GET: RequestHandler = async ({ params, url, fetch }) => {
  if (!PATH.test(params.path) || params.path.includes('..')) error(400, 'bad path');
  let res: Response;
  try {
    res = await fetch(`${config.PUBLIC_INDEXER_URL}/v1/${params.path}${url.search}`, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    return new Response(JSON.stringify({ code: 'UNAVAILABLE', message: 'the indexer cannot be reached' }), {
      status: 502,
      headers: { 'content-type': 'application/json' },
    });
  }
  return new Response(await res.text(), {
    status: res.status,
    headers: { 'content-type': res.headers.get('content-type') ?? 'application/json', 'cache-control': 'no-store' },
  });
};
