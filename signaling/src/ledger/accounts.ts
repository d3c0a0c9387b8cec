import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import { LedgerError } from './errors.ts';

/** The ledger stores every address in one SS58 format, so equal accounts compare equal as text. */
const LEDGER_SS58 = 42;

/** Re-encodes an SS58 address (any prefix) or a 32-byte hex public key in the ledger's format; throws INPUT_INVALID. */
export function canonicalAccount(address: string): string {
  try {
    return encodeAddress(decodeAddress(address), LEDGER_SS58);
  } catch {
    throw new LedgerError('INPUT_INVALID', `not an account: ${JSON.stringify(address)}`);
  }
}
