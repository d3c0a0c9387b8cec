import { stringToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a, decodeAddress } from '@polkadot/util-crypto';
import { ContractsClientError } from '../errors.ts';

/** Domain of the hash a session id is made of, so it is never another message's hash of the same key. */
const SESSION_ID_DOMAIN = stringToU8a('ps1:session:');

/**
 * The session id of a session account: blake2b-128 of `ps1:session:` + its 32-byte ed25519 public key, as 32 hex
 * digits. Bound to the key this way, a session id names one session account only: anyone who funds or joins with
 * someone else's session id without holding its key gets nothing out of it. Takes the account's SS58 address (any
 * prefix) or its public key.
 */
export function sessionIdOf(sessionAccount: string | Uint8Array): string {
  let publicKey: Uint8Array;
  try {
    publicKey = typeof sessionAccount === 'string' ? decodeAddress(sessionAccount) : sessionAccount;
  } catch (err) {
    throw new ContractsClientError('BAD_REQUEST', `not a session account: ${(err as Error).message}`);
  }
  if (publicKey.length !== 32) {
    throw new ContractsClientError('BAD_REQUEST', 'a session account is a 32-byte public key');
  }
  return u8aToHex(blake2AsU8a(u8aConcat(SESSION_ID_DOMAIN, publicKey), 128)).slice(2);
}
