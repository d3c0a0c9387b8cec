import { encodeAddress } from '@polkadot/util-crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ContractsClientError, createSessionKey, ProtocolId, sessionIdOf } from '../src/index.ts';

/** The signaling protocol's SessionId (signaling/src/protocol.ts). */
const SESSION_ID_RE = /^[A-Za-z0-9_-]{8,64}$/;
const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('sessionIdOf', () => {
  test('is the same for the address (any SS58 prefix) and the public key, and a valid session id', () => {
    fc.assert(
      fc.property(seed, (s) => {
        const key = createSessionKey(42, s);
        const id = sessionIdOf(key.address);
        expect(id).toMatch(SESSION_ID_RE);
        expect(ProtocolId.parse(id)).toBe(id);
        expect(sessionIdOf(key.publicKey)).toBe(id);
        expect(sessionIdOf(encodeAddress(key.publicKey, 0))).toBe(id);
        expect(sessionIdOf(createSessionKey(0, s).address)).toBe(id);
      }),
      { numRuns: 200 },
    );
  });

  test('differs between keys', () => {
    fc.assert(
      fc.property(seed, seed, (a, b) => {
        fc.pre(Buffer.compare(a, b) !== 0);
        expect(sessionIdOf(createSessionKey(42, a).address)).not.toBe(sessionIdOf(createSessionKey(42, b).address));
      }),
      { numRuns: 200 },
    );
  });

  test('is blake2b-128 over `ps1:session:` + the public key, in hex (the wire format never changes)', () => {
    const key = createSessionKey(42, new Uint8Array(32).fill(7));
    expect(sessionIdOf(key.address)).toBe('cd034f185a0dc32528c9639add331a85');
  });

  test('refuses what is not a session account', () => {
    const key = createSessionKey(42);
    const broken = `${key.address.slice(0, -1)}${key.address.endsWith('a') ? 'b' : 'a'}`;
    for (const bad of [broken, 'not an address', new Uint8Array(31), new Uint8Array(33)]) {
      expect(() => sessionIdOf(bad)).toThrow(ContractsClientError);
    }
  });
});
