import { u8aToU8a, u8aWrapBytes } from '@polkadot/util';
import { signatureVerify } from '@polkadot/util-crypto';

/**
 * Verifies a wallet signature over `message`, whether the wallet signed the raw bytes or the `<Bytes>…</Bytes>`
 * wrapping that extension `signRaw` adds. Any key type (sr25519, ed25519, ecdsa) is detected.
 */
export function verifyWalletSignature(message: string, signature: string, address: string): boolean {
  const raw = u8aToU8a(message);
  for (const candidate of [u8aWrapBytes(raw), raw]) {
    try {
      if (signatureVerify(candidate, signature, address).isValid) return true;
    } catch {
      return false;
    }
  }
  return false;
}
