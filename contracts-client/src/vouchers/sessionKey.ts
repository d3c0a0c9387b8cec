import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { u8aToHex } from '@polkadot/util';
import { ed25519PairFromSeed, ed25519Sign, encodeAddress, randomAsU8a } from '@polkadot/util-crypto';

/** An ed25519 session key (browser-compatible: pure JS from @noble via @polkadot/util-crypto). */
export interface SessionKey {
  /** 32-byte seed; keep it in IndexedDB, never send it anywhere. */
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  /** SS58 address of the session account. */
  readonly address: string;
}

/** Creates a fresh random session key, or restores one from its 32-byte seed. */
export function createSessionKey(ss58: number, seed: Uint8Array = randomAsU8a(32)): SessionKey {
  const { publicKey } = ed25519PairFromSeed(seed);
  return { seed, publicKey, address: encodeAddress(publicKey, ss58) };
}

/** Signs `message` with the session key (ed25519, 64-byte signature). */
export function signWithSessionKey(key: SessionKey, message: string | Uint8Array): Uint8Array {
  const pair = ed25519PairFromSeed(key.seed);
  return ed25519Sign(message, pair);
}

/** A keyring pair for the session account, to sign its extrinsics (settlements, refund sweep). */
export function sessionKeyPair(key: SessionKey, ss58: number): KeyringPair {
  return new Keyring({ type: 'ed25519', ss58Format: ss58 }).addFromSeed(key.seed);
}

/** Hex of a session key's public key (for storage and logs). */
export function sessionPublicKeyHex(key: SessionKey): string {
  return u8aToHex(key.publicKey);
}
