import { u8aToHex } from '@polkadot/util';
import { z } from 'zod';
import { AmountText, U128_MAX } from '../amount.ts';
import { ContractsClientError } from '../errors.ts';
import { ProtocolId, Seq } from '../events/remark.ts';
import { type SessionKey, signWithSessionKey } from './sessionKey.ts';

/** A genesis hash as 0x-prefixed lowercase hex. */
export const GenesisHash = z.string().regex(/^0x[0-9a-f]{64}$/, 'genesis hash must be 0x + 64 lowercase hex');

/** What a voucher acknowledges: the session owes `owed` planck in total after tick `seq`. */
export interface Voucher {
  genesisHash: string;
  streamId: string;
  sessionId: string;
  seq: number;
  owed: bigint;
}

/** Zod schema of a voucher as carried on the wire (owed as a decimal string). */
export const VoucherWire = z.object({
  genesisHash: GenesisHash,
  streamId: ProtocolId,
  sessionId: ProtocolId,
  seq: Seq,
  owed: AmountText,
});

const VOUCHER_RE =
  /^ps1:voucher:(0x[0-9a-f]{64}):([A-Za-z0-9_-]{1,64}):([A-Za-z0-9_-]{1,64}):(0|[1-9][0-9]{0,15}):(0|[1-9][0-9]{0,38})$/;

const GENESIS_RE = /^0x[0-9a-f]{64}$/;
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** `ps1:voucher:<genesisHash>:<streamId>:<sessionId>:<seq>:<owed>`; validates every field (VOUCHER_INVALID). */
export function formatVoucher(v: Voucher): string {
  // Plain checks rather than zod: this runs once per verification on the server's hot path.
  if (
    !GENESIS_RE.test(v.genesisHash) ||
    !ID_RE.test(v.streamId) ||
    !ID_RE.test(v.sessionId) ||
    !Number.isSafeInteger(v.seq) ||
    v.seq < 0 ||
    typeof v.owed !== 'bigint' ||
    v.owed < 0n ||
    v.owed > U128_MAX
  ) {
    throw new ContractsClientError('VOUCHER_INVALID', 'voucher field out of range');
  }
  return `ps1:voucher:${v.genesisHash}:${v.streamId}:${v.sessionId}:${v.seq}:${v.owed}`;
}

/** Parses a voucher message; undefined when it is not exactly a canonical voucher. */
export function parseVoucher(text: string): Voucher | undefined {
  const m = VOUCHER_RE.exec(text);
  if (!m) return undefined;
  const parsed = VoucherWire.safeParse({
    genesisHash: m[1],
    streamId: m[2],
    sessionId: m[3],
    seq: Number(m[4]),
    owed: m[5],
  });
  return parsed.success ? parsed.data : undefined;
}

/** Signs a voucher with the session key (browser-compatible); returns the 64-byte signature as hex. */
export function signVoucher(key: SessionKey, v: Voucher): string {
  return u8aToHex(signWithSessionKey(key, formatVoucher(v)));
}
