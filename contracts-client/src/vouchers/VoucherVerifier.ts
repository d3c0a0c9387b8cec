import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { decodeAddress } from '@polkadot/util-crypto';
import { ContractsClientError } from '../errors.ts';
import { formatVoucher, type Voucher } from './voucher.ts';

const SIGNATURE_RE = /^0x[0-9a-fA-F]{128}$/;

/** Verifies voucher signatures with Node's native ed25519 (server side); caches one KeyObject per session key. */
export class VoucherVerifier {
  private readonly keys = new Map<string, KeyObject>();

  constructor(private readonly maxKeys = 100_000) {}

  /** True when `signatureHex` is the session account's ed25519 signature over exactly this voucher. */
  isValid(v: Voucher, signatureHex: string, sessionAccount: string): boolean {
    if (!SIGNATURE_RE.test(signatureHex)) return false;
    let message: string;
    try {
      message = formatVoucher(v);
    } catch {
      return false;
    }
    const key = this.keyOf(sessionAccount);
    if (!key) return false;
    return verify(null, Buffer.from(message), key, Buffer.from(signatureHex.slice(2), 'hex'));
  }

  /** Like isValid, but throws VOUCHER_INVALID. */
  assertValid(v: Voucher, signatureHex: string, sessionAccount: string): void {
    if (!this.isValid(v, signatureHex, sessionAccount)) {
      throw new ContractsClientError('VOUCHER_INVALID', 'voucher signature does not match', {
        sessionAccount,
        seq: v.seq,
      });
    }
  }

  private keyOf(address: string): KeyObject | undefined {
    let key = this.keys.get(address);
    if (key) return key;
    let publicKey: Uint8Array;
    try {
      publicKey = decodeAddress(address);
    } catch {
      return undefined;
    }
    if (publicKey.length !== 32) return undefined;
    key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') },
      format: 'jwk',
    });
    // Bounded cache: drop the oldest entry (Map keeps insertion order).
    if (this.keys.size >= this.maxKeys) this.keys.delete(this.keys.keys().next().value as string);
    this.keys.set(address, key);
    return key;
  }
}
