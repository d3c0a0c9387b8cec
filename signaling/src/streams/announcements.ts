import { setTimeout as sleep } from 'node:timers/promises';
import type { DecodedBlock } from '@persecond/contracts-client';
import type { Logger } from 'pino';
import { sameAccount } from '../accounts.ts';
import { isRedisUnreachable } from '../dependencies/redisDependency.ts';
import type { StreamStore } from './StreamStore.ts';

/** Pause between attempts at an announcement while the directory's Redis is away. */
const RETRY_MS = 1_000;

/**
 * Records the announcements of `block` that match a stream of the directory: same metadata CID, signed by the stream's
 * creator (anyone may post a `ps1:stream` remark naming someone else's stream). While the directory cannot be reached
 * (Redis away) each is tried again every second until it can, or until `signal` aborts (the node closing): the watcher
 * waits, so no announcement is lost to an outage. Never throws: one stream's failure must not stop the watcher.
 */
export async function recordAnnouncements(
  store: StreamStore,
  block: DecodedBlock,
  log: Logger,
  signal?: AbortSignal,
): Promise<void> {
  for (const event of block.events) {
    if (event.type !== 'announcement') continue;
    for (let attempt = 1; ; attempt++) {
      try {
        const stream = await store.get(event.streamId);
        if (!stream || stream.metadataCid !== event.metadataCid) break;
        if (!sameAccount(stream.creator, event.creator)) {
          log.warn(
            { streamId: event.streamId, signer: event.creator },
            'announcement by someone else than the creator',
          );
          break;
        }
        const seen = { blockHash: block.hash, blockNumber: block.number, extrinsicHash: event.extrinsicHash };
        if (await store.markAnnounced(event.streamId, seen)) log.info({ streamId: event.streamId }, 'stream announced');
        break;
      } catch (err) {
        if (!isRedisUnreachable(err) || signal?.aborted) {
          log.error({ err, streamId: event.streamId }, 'could not record an announcement');
          break;
        }
        if (attempt === 1) log.warn({ err, streamId: event.streamId }, 'directory away: the announcement waits for it');
        await sleep(RETRY_MS, undefined, { signal }).catch(() => undefined);
      }
    }
  }
}
