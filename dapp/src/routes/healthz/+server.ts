import { json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';

/** Liveness probe used by `npm start` and the deployment. */
export const GET: RequestHandler = () => json({ ok: true });
