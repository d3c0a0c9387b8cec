// Session keys kept in IndexedDB, so a closed tab can still settle its debt and recover its budget next visit.

import type { StoredSession } from './storedSession.ts';
import type { SessionKind } from './watchStatus.ts';

export type { StoredSession } from './storedSession.ts';

const DB = 'persecond';
const STORE = 'sessions';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore(STORE, { keyPath: 'sessionId' }).createIndex('wallet', 'wallet');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const req = fn(db.transaction(STORE, mode).objectStore(STORE));
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  } finally {
    db.close();
  }
}

/** Saves (or replaces) a session. */
export function saveSession(s: StoredSession): Promise<unknown> {
  return run('readwrite', (st) => st.put(s));
}

/** Sessions started by `wallet`, oldest first. */
export async function sessionsOf(wallet: string): Promise<StoredSession[]> {
  const all = await run<StoredSession[]>('readonly', (st) => st.index('wallet').getAll(wallet));
  return all.sort((a, b) => a.createdAt - b.createdAt);
}

/** Forgets a session once its budget is swept back. */
export function forgetSession(sessionId: string): Promise<unknown> {
  return run('readwrite', (st) => st.delete(sessionId));
}

/**
 * The newest delegated session of `wallet` for `streamId` in `asset` of `kind` (a live session is never offered for
 * the stream's replay, nor the other way), `usable` and whose account still holds at least
 * `minimum` (`held` reads what an account holds): a budget from an earlier visit that "Watch" can carry on with.
 */
export async function findReusable(
  wallet: string,
  stream: { streamId: string; asset: string; kind: SessionKind },
  minimum: bigint,
  held: (s: StoredSession) => Promise<bigint>,
  usable: (s: StoredSession) => boolean,
): Promise<{ session: StoredSession; held: bigint } | undefined> {
  const candidates = (await sessionsOf(wallet)).filter(
    (s) =>
      s.streamId === stream.streamId &&
      s.asset === stream.asset &&
      (s.kind ?? 'live') === stream.kind &&
      s.delegation &&
      usable(s),
  );
  for (const session of candidates.reverse()) {
    const amount = await held(session);
    if (amount >= minimum) return { session, held: amount };
  }
  return undefined;
}
