// The creator's one-time stream announcement: utility.batchAll([system.remarkWithEvent("ps1:stream:<id>:<cid>")]).
import type { ApiPromise } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const CID = /^[A-Za-z0-9]{1,128}$/;

/** The announcement remark text; refuses ids that would make it ambiguous. */
export function announcementRemark(streamId: string, metadataCid: string): string {
  if (!ID.test(streamId) || !CID.test(metadataCid)) throw new Error('invalid stream id or metadata CID');
  return `ps1:stream:${streamId}:${metadataCid}`;
}

/** The announcement extrinsic, to be signed by the creator's wallet. */
export function buildAnnouncement(
  api: ApiPromise,
  streamId: string,
  metadataCid: string,
): SubmittableExtrinsic<'promise'> {
  return api.tx.utility.batchAll([api.tx.system.remarkWithEvent(announcementRemark(streamId, metadataCid))]);
}
