import { CID } from 'multiformats/cid';
import { IpfsError } from './errors.ts';

/** Parses a CID given as text or object, rejecting garbage with IPFS_INVALID_CID. */
export function toCid(input: CID | string): CID {
  if (typeof input !== 'string') {
    const cid = CID.asCID(input);
    if (cid === null) throw new IpfsError('IPFS_INVALID_CID', 'not a CID');
    return cid;
  }
  try {
    return CID.parse(input);
  } catch (err) {
    throw new IpfsError('IPFS_INVALID_CID', `invalid CID: ${JSON.stringify(input.slice(0, 100))}`, { cause: err });
  }
}
