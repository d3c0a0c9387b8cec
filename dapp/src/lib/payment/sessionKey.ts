// The viewer's ed25519 session key (contracts-client's): pays the creator in arrears without asking the wallet every
// time.
import {
  createSessionKey as createKey,
  type SessionKey,
  signWithSessionKey as sign,
} from '@persecond/contracts-client/browser';
import { hexToU8a, stringToU8a, u8aToHex } from '@polkadot/util';

export {
  createSessionKey,
  type SessionKey,
  sessionIdOf,
  sessionKeyPair,
} from '@persecond/contracts-client/browser';

/** Signs a text message with the session key; returns the 64-byte signature as hex. */
export function signWithSessionKey(key: SessionKey, message: string): `0x${string}` {
  // Bytes of the text, never hex-decoded (util-crypto would decode a message that looks like hex).
  return u8aToHex(sign(key, stringToU8a(message)));
}

/** The session key kept in the session store, from its seed's hex. */
export function restoreSessionKey(seedHex: string, ss58: number): SessionKey {
  return createKey(ss58, hexToU8a(seedHex));
}
