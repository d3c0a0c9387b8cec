// Account addresses as the chat compares them: the server writes moderators in the protocol's SS58 format, the wallet
// may use another, so equal accounts are compared by public key.
import { u8aEq } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto';

/** Whether two addresses (any SS58 prefix) name the same account; false when either is not an address. */
export function sameAccount(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return u8aEq(decodeAddress(a), decodeAddress(b));
  } catch {
    return false;
  }
}

/** Whether `text` is an account address (SS58 with a valid checksum). */
export function isAddress(text: string): boolean {
  if (!/^[1-9A-HJ-NP-Za-km-z]{40,60}$/.test(text)) return false;
  try {
    return decodeAddress(text).length === 32;
  } catch {
    return false;
  }
}
