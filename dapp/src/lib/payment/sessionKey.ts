// The viewer's ed25519 session key (contracts-client's): pays the creator in arrears without asking the wallet every
// time.
import { type SessionKey, signWithSessionKey as sign } from '@persecond/contracts-client/browser';
import { stringToU8a, u8aToHex } from '@polkadot/util';
import { randomAsU8a } from '@polkadot/util-crypto';

export { createSessionKey, type SessionKey, sessionKeyPair } from '@persecond/contracts-client/browser';

/** Signs a text message with the session key; returns the 64-byte signature as hex. */
export function signWithSessionKey(key: SessionKey, message: string): `0x${string}` {
  // Bytes of the text, never hex-decoded (util-crypto would decode a message that looks like hex).
  return u8aToHex(sign(key, stringToU8a(message)));
}

/** A random URL-safe id for a session. */
export function newSessionId(): string {
  return u8aToHex(randomAsU8a(12)).slice(2);
}
