// A polkadot{.js}-style extension for browser tests (the real extension cannot be installed here): registers
// `window.injectedWeb3[name]` backed by keyring accounts. Bundled to an IIFE and added with `addInitScript`.
import { injectExtension } from '@polkadot/extension-inject';
import type { InjectedAccount } from '@polkadot/extension-inject/types';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { TypeRegistry } from '@polkadot/types';
import type { SignerPayloadJSON, SignerPayloadRaw } from '@polkadot/types/types';
import { hexToU8a, isHex, stringToU8a, u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';

interface WalletConfig {
  name: string;
  uris: string[];
}

const g = globalThis as typeof globalThis & { __TEST_WALLET__?: Partial<WalletConfig>; __testWalletLog: unknown[] };
const cfg: WalletConfig = { name: 'test-extension', uris: ['//Alice', '//Bob'], ...g.__TEST_WALLET__ };
g.__testWalletLog = [];

let keyring: Promise<Keyring> | undefined;
const getKeyring = () => {
  keyring ??= cryptoWaitReady().then(() => {
    const kr = new Keyring({ type: 'sr25519', ss58Format: 42 });
    for (const uri of cfg.uris) kr.addFromUri(uri, { name: uri.replace('//', '') });
    return kr;
  });
  return keyring;
};

let nextId = 0;

injectExtension(
  async (origin) => {
    g.__testWalletLog.push({ ev: 'enable', origin });
    const kr = await getKeyring();
    const list = (): InjectedAccount[] =>
      kr.getPairs().map((p: KeyringPair) => ({ address: p.address, name: String(p.meta.name), type: p.type }));
    return {
      accounts: {
        get: async () => list(),
        subscribe: (cb: (accounts: InjectedAccount[]) => void) => {
          setTimeout(() => cb(list()), 0);
          return () => undefined;
        },
      },
      metadata: { get: async () => [], provide: async () => true },
      signer: {
        // Same semantics as the real extension: type 'bytes' signs <Bytes>data</Bytes>.
        signRaw: async ({ address, data, type }: SignerPayloadRaw) => {
          const u8a = isHex(data) ? hexToU8a(data) : stringToU8a(data);
          g.__testWalletLog.push({ ev: 'signRaw', address, type });
          return {
            id: ++nextId,
            signature: u8aToHex(kr.getPair(address).sign(type === 'bytes' ? u8aWrapBytes(u8a) : u8a)),
          };
        },
        // As the extension does: rebuild the payload from its JSON and sign it.
        signPayload: async (payload: SignerPayloadJSON) => {
          const registry = new TypeRegistry();
          registry.setSignedExtensions(payload.signedExtensions);
          const signed = registry
            .createType('ExtrinsicPayload', payload, { version: payload.version })
            .sign(kr.getPair(payload.address));
          g.__testWalletLog.push({ ev: 'signPayload', address: payload.address, method: payload.method });
          return { id: ++nextId, signature: signed.signature };
        },
      },
    };
  },
  { name: cfg.name, version: '0.0.1' },
);
