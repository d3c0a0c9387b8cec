// Sign-in with Substrate: the message the wallet signs (SIWS, modelled on EIP-4361), built from the server's nonce.

/** Fields of a sign-in message. */
export interface SiwsFields {
  domain: string;
  address: string;
  statement: string;
  uri: string;
  /** Genesis hash of the chain the person signs in for. */
  chain: string;
  nonce: string;
  issuedAt: Date;
  expiresAt: Date;
}

/** The exact text the wallet signs. */
export function formatSiwsMessage(f: SiwsFields): string {
  return [
    `${f.domain} wants you to sign in with your Substrate account:`,
    f.address,
    '',
    f.statement,
    '',
    `URI: ${f.uri}`,
    'Version: 1',
    `Chain ID: ${f.chain}`,
    `Nonce: ${f.nonce}`,
    `Issued At: ${f.issuedAt.toISOString()}`,
    `Expiration Time: ${f.expiresAt.toISOString()}`,
  ].join('\n');
}
