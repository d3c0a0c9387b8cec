import type { DecodedBlock } from '@persecond/contracts-client';
import type { Logger } from 'pino';
import { sameAccount } from '../accounts.ts';
import type { StreamStore } from './StreamStore.ts';

/**
 * Records the announcements of `block` that match a stream of the directory: same metadata CID, signed by the stream's
 * creator (anyone may post a `ps1:stream` remark naming someone else's stream). Never throws: one stream's failure
 * must not stop the watcher that delivers the blocks.
 */
export async function recordAnnouncements(store: StreamStore, block: DecodedBlock, log: Logger): Promise<void> {
  for (const event of block.events) {
    if (event.type !== 'announcement') continue;
    try {
      const stream = await store.get(event.streamId);
      if (!stream || stream.metadataCid !== event.metadataCid) continue;
      if (!sameAccount(stream.creator, event.creator)) {
        log.warn({ streamId: event.streamId, signer: event.creator }, 'announcement by someone else than the creator');
        continue;
      }
      const seen = { blockHash: block.hash, blockNumber: block.number, extrinsicHash: event.extrinsicHash };
      if (await store.markAnnounced(event.streamId, seen)) log.info({ streamId: event.streamId }, 'stream announced');
    } catch (err) {
      log.error({ err, streamId: event.streamId }, 'could not record an announcement');
    }
  }
}
