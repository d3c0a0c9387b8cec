// The creator's one-time stream announcement, as contracts-client builds it for every Persecond part.
import { buildAnnouncement as build, type Tx, txContext } from '@persecond/contracts-client/browser';
import type { ApiPromise } from '@polkadot/api';

/** `utility.batchAll([system.remarkWithEvent("ps1:stream:<id>:<cid>")])`, to be signed by the creator's wallet. */
export function buildAnnouncement(api: ApiPromise, streamId: string, metadataCid: string): Tx {
  return build(txContext(api), { streamId, metadataCid });
}
