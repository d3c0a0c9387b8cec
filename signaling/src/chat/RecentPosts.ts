import type { Posted } from './ChatBatcher.ts';

/** Client ids remembered per node: enough for the retries of a busy minute. */
export const RECENT_POSTS_MAX = 20_000;

/**
 * The messages posted lately on this node by client id (`streamId`, sender, `clientId`), stored or being stored, so
 * a retry is answered from memory without a database read and spends no limit. A post that failed is forgotten (a
 * retry tries again); the oldest go past `max`. What memory no longer holds the database still does: the insert's
 * conflict answers the stored message.
 */
export class RecentPosts {
  readonly #posts = new Map<string, Promise<Posted>>();

  constructor(private readonly max = RECENT_POSTS_MAX) {}

  get(streamId: string, sender: string, clientId: string): Promise<Posted> | undefined {
    return this.#posts.get(key(streamId, sender, clientId));
  }

  set(streamId: string, sender: string, clientId: string, posted: Promise<Posted>): void {
    const k = key(streamId, sender, clientId);
    this.#posts.set(k, posted);
    posted.catch(() => {
      if (this.#posts.get(k) === posted) this.#posts.delete(k);
    });
    if (this.#posts.size > this.max) {
      const oldest = this.#posts.keys().next();
      if (!oldest.done) this.#posts.delete(oldest.value);
    }
  }

  get size(): number {
    return this.#posts.size;
  }
}

function key(streamId: string, sender: string, clientId: string): string {
  return `${streamId}\u0000${sender}\u0000${clientId}`;
}
