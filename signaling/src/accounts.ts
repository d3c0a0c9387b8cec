import { u8aEq } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto';

/** Whether two addresses (any SS58 prefix, or hex public keys) name the same account; false when either is not one. */
export function sameAccount(a: string, b: string): boolean {
  try {
    return u8aEq(decodeAddress(a), decodeAddress(b));
  } catch {
    return false;
  }
}
