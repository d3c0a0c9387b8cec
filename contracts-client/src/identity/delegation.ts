import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import { z } from 'zod';
import { AmountText, checkU128 } from '../amount.ts';
import { ContractsClientError } from '../errors.ts';
import { ProtocolId } from '../events/remark.ts';
import type { Asset } from '../events/types.ts';
import { GenesisHash } from '../vouchers/voucher.ts';
import { verifyWalletSignature } from './signatures.ts';

/** The wallet's statement that `sessionAccount` may spend up to `budget` of `asset` watching `streamId`. */
export interface Delegation {
  genesisHash: string;
  streamId: string;
  sessionId: string;
  sessionAccount: string;
  asset: Asset;
  budget: bigint;
}

const AssetText = z.union([
  z.literal('native'),
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,9})$/)
    .transform(Number)
    .pipe(z.number().int().max(0xffffffff)),
]);

const DELEGATION_RE =
  /^ps1:delegate:(0x[0-9a-f]{64}):([A-Za-z0-9_-]{1,64}):([A-Za-z0-9_-]{1,64}):([1-9A-HJ-NP-Za-km-z]{40,60}):(native|[0-9]{1,10}):([0-9]{1,39})$/;

function canonicalAddress(address: string): string {
  return encodeAddress(decodeAddress(address), 42);
}

/** `ps1:delegate:<genesisHash>:<streamId>:<sessionId>:<sessionAccount>:<asset>:<budget>` (address in SS58 42). */
export function formatDelegation(d: Delegation): string {
  const asset = d.asset === 'native' ? 'native' : String(AssetText.parse(String(d.asset)));
  return [
    'ps1:delegate',
    GenesisHash.parse(d.genesisHash),
    ProtocolId.parse(d.streamId),
    ProtocolId.parse(d.sessionId),
    canonicalAddress(d.sessionAccount),
    asset,
    checkU128(d.budget).toString(),
  ].join(':');
}

/** Parses a delegation message; undefined unless canonical. */
export function parseDelegation(text: string): Delegation | undefined {
  const m = DELEGATION_RE.exec(text);
  if (!m) return undefined;
  const asset = AssetText.safeParse(m[5]);
  const budget = AmountText.safeParse(m[6]);
  if (!asset.success || !budget.success) return undefined;
  const d: Delegation = {
    genesisHash: m[1] ?? '',
    streamId: m[2] ?? '',
    sessionId: m[3] ?? '',
    sessionAccount: m[4] ?? '',
    asset: asset.data,
    budget: budget.data,
  };
  try {
    return formatDelegation(d) === text ? d : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Verifies that `wallet` signed `message` (raw or `<Bytes>`-wrapped) and that it delegates to the expected chain,
 * stream and session account; throws DELEGATION_INVALID. Returns the parsed delegation.
 */
export function verifyDelegation(
  message: string,
  signature: string,
  wallet: string,
  expected: { genesisHash: string; streamId?: string; sessionAccount?: string },
): Delegation {
  const d = parseDelegation(message);
  if (!d) throw new ContractsClientError('DELEGATION_INVALID', 'not a delegation message');
  if (d.genesisHash !== expected.genesisHash) throw new ContractsClientError('DELEGATION_INVALID', 'other chain');
  if (expected.streamId !== undefined && d.streamId !== expected.streamId) {
    throw new ContractsClientError('DELEGATION_INVALID', 'other stream');
  }
  if (expected.sessionAccount !== undefined && d.sessionAccount !== canonicalAddress(expected.sessionAccount)) {
    throw new ContractsClientError('DELEGATION_INVALID', 'other session account');
  }
  if (!verifyWalletSignature(message, signature, wallet)) {
    throw new ContractsClientError('DELEGATION_INVALID', 'signature does not match the wallet');
  }
  return d;
}
