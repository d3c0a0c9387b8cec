// The viewer's ed25519 session key: pays the creator in arrears without asking the wallet every time.
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { stringToU8a, u8aToHex } from '@polkadot/util';
import { ed25519PairFromSeed, ed25519Sign, encodeAddress, randomAsU8a } from '@polkadot/util-crypto';

/** A session key and what it is for. */
export interface SessionKey {
  /** 32-byte secret seed; stays in this browser. */
  seed: Uint8Array;
  publicKey: Uint8Array;
  address: string;
}

/** A fresh random session key, or the one with `seed`. Call after `cryptoWaitReady()`. */
export function createSessionKey(ss58: number, seed: Uint8Array = randomAsU8a(32)): SessionKey {
  const { publicKey } = ed25519PairFromSeed(seed);
  return { seed, publicKey, address: encodeAddress(publicKey, ss58) };
}

/** Signs a text message with the session key; returns the 64-byte signature as hex. */
export function signWithSessionKey(key: SessionKey, message: string): `0x${string}` {
  return u8aToHex(ed25519Sign(stringToU8a(message), ed25519PairFromSeed(key.seed)));
}

/** A keyring pair of the session account, to sign its settlements and the final refund. */
export function sessionKeyPair(key: SessionKey, ss58: number): KeyringPair {
  return new Keyring({ type: 'ed25519', ss58Format: ss58 }).addFromSeed(key.seed);
}

/** A random URL-safe id for a session. */
export function newSessionId(): string {
  return u8aToHex(randomAsU8a(12)).slice(2);
}
