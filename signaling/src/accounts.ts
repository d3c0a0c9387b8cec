import { u8aEq } from '@polkadot/util';
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';

/** Whether two addresses (any SS58 prefix, or hex public keys) name the same account; false when either is not one. */
export function sameAccount(a: string, b: string): boolean {
  try {
    return u8aEq(decodeAddress(a), decodeAddress(b));
  } catch {
    return false;
  }
}

/** SS58 prefix the protocol writes addresses in (delegations, session accounts, the ledger). */
export const PROTOCOL_SS58 = 42;

/**
 * An address (any SS58 prefix, or a hex public key) in the protocol's SS58 format, so that equal accounts compare
 * equal as text (a decode costs a checksum: hot paths compare these instead); undefined when it is not one.
 */
export function protocolAddress(address: string): string | undefined {
  try {
    return encodeAddress(decodeAddress(address), PROTOCOL_SS58);
  } catch {
    return undefined;
  }
}
