// Session keys kept in IndexedDB, so a closed tab can still settle its debt and recover its budget next visit.

import type { StoredSession } from './storedSession.ts';

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
