import { Keyring } from '@polkadot/keyring';
import { u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  buildSignInMessage,
  type ChainClient,
  connect,
  createSessionKey,
  type DevChain,
  formatDelegation,
  MemoryNonceStore,
  type SignInFields,
  signVoucher,
  startDevChain,
  type Voucher,
  VoucherVerifier,
  verifyDelegation,
  verifySignIn,
} from '../src/index.ts';

let dev: DevChain;
let client: ChainClient;
let genesisHash: string;
const kr = new Keyring({ type: 'sr25519', ss58Format: 42 });
const alice = kr.addFromUri('//Alice');
const bob = kr.addFromUri('//Bob');
/** What an extension's signRaw does: sign the `<Bytes>`-wrapped message. */
const walletSign = (pair: typeof alice, message: string) => u8aToHex(pair.sign(u8aWrapBytes(message)));

beforeAll(async () => {
  await cryptoWaitReady();
  dev = await startDevChain({ createAsset: false });
  client = await connect(dev.wsUrl);
  genesisHash = client.facts.genesisHash;
});
afterAll(async () => {
  await client?.close();
  await dev?.close();
});

describe('sign-in (SIWS)', () => {
  const domain = 'persecond.test';
  const fieldsFor = (nonce: string, over: Partial<SignInFields> = {}): SignInFields => ({
    domain,
    address: alice.address,
    statement: 'Sign in to Persecond',
    uri: 'https://persecond.test/',
    genesisHash,
    nonce,
    issuedAt: new Date(Date.now() - 1000),
    expiresAt: new Date(Date.now() + 5 * 60_000),
    ...over,
  });

  test('accepts a wrapped (extension) or raw signature once, then refuses the replay', async () => {
    const nonces = new MemoryNonceStore();
    const expectation = { domain, genesisHash, consumeNonce: (n: string) => nonces.consume(n) };
    const message = buildSignInMessage(fieldsFor(nonces.issue()));
    const fields = await verifySignIn(message, walletSign(alice, message), expectation);
    expect(fields.address).toBe(alice.address);
    await expect(verifySignIn(message, walletSign(alice, message), expectation)).rejects.toMatchObject({
      code: 'NONCE_INVALID',
    });
    const raw = buildSignInMessage(fieldsFor(nonces.issue()));
    await expect(verifySignIn(raw, u8aToHex(alice.sign(raw)), expectation)).resolves.toMatchObject({ domain });
  });

  test.each([
    ['SIWS_WRONG_DOMAIN', { domain: 'evil.test' }],
    ['SIWS_WRONG_CHAIN', { genesisHash: `0x${'ab'.repeat(32)}` }],
    ['SIWS_EXPIRED', { issuedAt: new Date(Date.now() - 10 * 60_000), expiresAt: new Date(Date.now() - 60_000) }],
  ] as const)('refuses with %s', async (code, over) => {
    const nonces = new MemoryNonceStore();
    const nonce = nonces.issue();
    const message = buildSignInMessage(fieldsFor(nonce, over));
    await expect(
      verifySignIn(message, walletSign(alice, message), {
        domain,
        genesisHash,
        consumeNonce: (n) => nonces.consume(n),
      }),
    ).rejects.toMatchObject({ code });
    // A refused sign-in does not burn the nonce.
    expect(nonces.consume(nonce)).toBe(true);
  });

  test('refuses a signature by another key and a tampered message', async () => {
    const nonces = new MemoryNonceStore();
    const expectation = { domain, genesisHash, consumeNonce: (n: string) => nonces.consume(n) };
    const message = buildSignInMessage(fieldsFor(nonces.issue()));
    await expect(verifySignIn(message, walletSign(bob, message), expectation)).rejects.toMatchObject({
      code: 'SIGNATURE_INVALID',
    });
    const signature = walletSign(alice, message);
    const tampered = message.replace('Sign in to Persecond', 'Sign in to Persecond!');
    await expect(verifySignIn(tampered, signature, expectation)).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    await expect(verifySignIn(`${message}\nextra`, signature, expectation)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });
});

describe('session key delegation', () => {
  test('binds the session account to the wallet, stream and budget', () => {
    const key = createSessionKey(42);
    const d = {
      genesisHash,
      streamId: 'st-1',
      sessionId: 'se-1',
      sessionAccount: key.address,
      asset: 1984,
      budget: 10n ** 20n,
    };
    const message = formatDelegation(d);
    const signature = walletSign(alice, message);
    expect(
      verifyDelegation(message, signature, alice.address, {
        genesisHash,
        streamId: 'st-1',
        sessionAccount: key.address,
      }),
    ).toEqual(d);
    const refused = (f: () => unknown) => expect(f).toThrow(expect.objectContaining({ code: 'DELEGATION_INVALID' }));
    refused(() => verifyDelegation(message, signature, bob.address, { genesisHash }));
    refused(() => verifyDelegation(message, signature, alice.address, { genesisHash, streamId: 'st-2' }));
    refused(() =>
      verifyDelegation(message, signature, alice.address, {
        genesisHash,
        sessionAccount: createSessionKey(42).address,
      }),
    );
    refused(() =>
      verifyDelegation(message.replace(':100000000000000000000', ':100000000000000000001'), signature, alice.address, {
        genesisHash,
      }),
    );
  });
});

describe('vouchers', () => {
  test('a voucher verifies only for its own chain, stream, session, seq and amount', () => {
    const key = createSessionKey(42);
    const verifier = new VoucherVerifier();
    const v: Voucher = { genesisHash, streamId: 'st-1', sessionId: 'se-1', seq: 42, owed: 4_200_000n };
    const sig = signVoucher(key, v);
    expect(verifier.isValid(v, sig, key.address)).toBe(true);
    const others: Voucher[] = [
      { ...v, genesisHash: `0x${'cd'.repeat(32)}` },
      { ...v, streamId: 'st-2' },
      { ...v, sessionId: 'se-2' },
      { ...v, seq: 43 },
      { ...v, owed: 4_200_001n },
    ];
    for (const other of others) expect(verifier.isValid(other, sig, key.address)).toBe(false);
    expect(verifier.isValid(v, sig, createSessionKey(42).address)).toBe(false);
    const last = Number.parseInt(sig.slice(-2), 16) ^ 0x01;
    expect(verifier.isValid(v, `${sig.slice(0, -2)}${last.toString(16).padStart(2, '0')}`, key.address)).toBe(false);
    expect(() => verifier.assertValid({ ...v, seq: 1 }, sig, key.address)).toThrow(
      expect.objectContaining({ code: 'VOUCHER_INVALID' }),
    );
  });
});
