import { decodeAddress } from '@polkadot/util-crypto';
import { z } from 'zod';
import { ContractsClientError } from '../errors.ts';
import { GenesisHash } from '../vouchers/voucher.ts';
import { verifyWalletSignature } from './signatures.ts';

/** Fields of a SIWS sign-in message (EIP-4361 layout, with the chain's genesis hash as Chain ID). */
export interface SignInFields {
  domain: string;
  address: string;
  statement?: string;
  uri: string;
  genesisHash: string;
  nonce: string;
  issuedAt: Date;
  expiresAt: Date;
}

const Address = z.string().refine((a) => {
  try {
    decodeAddress(a);
    return true;
  } catch {
    return false;
  }
}, 'not an SS58 address');

const Fields = z.object({
  domain: z.string().regex(/^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/, 'domain must be host[:port]'),
  address: Address,
  statement: z
    .string()
    .regex(/^[^\n]{1,512}$/)
    .optional(),
  uri: z.url(),
  genesisHash: GenesisHash,
  nonce: z.string().regex(/^[A-Za-z0-9]{8,128}$/, 'nonce must be 8-128 alphanumerics'),
  issuedAt: z.date(),
  expiresAt: z.date(),
});

const HEADER = ' wants you to sign in with your Substrate account:';

/** Builds the message the wallet signs (`signRaw`); validates every field. */
export function buildSignInMessage(fields: SignInFields): string {
  const f = Fields.parse(fields);
  if (f.expiresAt <= f.issuedAt) throw new ContractsClientError('BAD_REQUEST', 'expiry must be after issued-at');
  return [
    `${f.domain}${HEADER}`,
    f.address,
    '',
    ...(f.statement ? [f.statement, ''] : []),
    `URI: ${f.uri}`,
    'Version: 1',
    `Chain ID: ${f.genesisHash}`,
    `Nonce: ${f.nonce}`,
    `Issued At: ${f.issuedAt.toISOString()}`,
    `Expiration Time: ${f.expiresAt.toISOString()}`,
  ].join('\n');
}

const MESSAGE_RE =
  /^(?<domain>[^\s]+) wants you to sign in with your Substrate account:\n(?<address>[1-9A-HJ-NP-Za-km-z]+)\n\n(?:(?<statement>[^\n]+)\n\n)?URI: (?<uri>[^\n]+)\nVersion: 1\nChain ID: (?<genesisHash>[^\n]+)\nNonce: (?<nonce>[^\n]+)\nIssued At: (?<issuedAt>[^\n]+)\nExpiration Time: (?<expiresAt>[^\n]+)$/;

/** Parses a sign-in message; throws BAD_REQUEST unless it is exactly what buildSignInMessage produces. */
export function parseSignInMessage(message: string): SignInFields {
  const g = MESSAGE_RE.exec(message)?.groups;
  const parsed = g
    ? Fields.safeParse({
        ...g,
        statement: g.statement,
        issuedAt: new Date(g.issuedAt ?? ''),
        expiresAt: new Date(g.expiresAt ?? ''),
      })
    : undefined;
  if (!parsed?.success || buildSignInMessage(parsed.data) !== message) {
    throw new ContractsClientError('BAD_REQUEST', 'not a valid sign-in message');
  }
  return parsed.data;
}

/** What the server expects of a sign-in. */
export interface SignInExpectation {
  domain: string;
  genesisHash: string;
  /** Defaults to the current time. */
  now?: Date;
  /** Burns the nonce; resolves false if it is unknown, already used or issued for another address. */
  consumeNonce(nonce: string, address: string): boolean | Promise<boolean>;
}

/**
 * Verifies a signed sign-in message: shape, domain (SIWS_WRONG_DOMAIN), chain (SIWS_WRONG_CHAIN), validity window
 * (SIWS_EXPIRED), the wallet's signature with or without `<Bytes>` wrapping (SIGNATURE_INVALID), then burns the nonce
 * (NONCE_INVALID). Returns the verified fields.
 */
export async function verifySignIn(
  message: string,
  signature: string,
  expect: SignInExpectation,
): Promise<SignInFields> {
  const fields = parseSignInMessage(message);
  if (fields.domain !== expect.domain) {
    throw new ContractsClientError('SIWS_WRONG_DOMAIN', `message is for ${fields.domain}, not ${expect.domain}`);
  }
  if (fields.genesisHash !== expect.genesisHash) {
    throw new ContractsClientError('SIWS_WRONG_CHAIN', 'message is for another chain');
  }
  const now = expect.now ?? new Date();
  if (now >= fields.expiresAt || now.getTime() < fields.issuedAt.getTime() - 60_000) {
    throw new ContractsClientError('SIWS_EXPIRED', 'sign-in message is expired or not yet valid');
  }
  if (!verifyWalletSignature(message, signature, fields.address)) {
    throw new ContractsClientError('SIGNATURE_INVALID', 'signature does not match the address');
  }
  if (!(await expect.consumeNonce(fields.nonce, fields.address))) {
    throw new ContractsClientError('NONCE_INVALID', 'nonce unknown, expired or already used');
  }
  return fields;
}
