// HTTP and Socket.IO clients of a signaling node, as the dapp uses them: JSON requests, dev wallets and their sign-in,
// sockets.
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { stringToU8a, u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { io as connectSocket, type Socket } from 'socket.io-client';

/** A JSON answer of the HTTP API. */
export interface Json {
  ok: boolean;
  code?: string;
  details?: Record<string, string>;
  [key: string]: unknown;
}

/** GET (no body) or POST (JSON body) with an optional bearer session token and extra headers. */
export async function request(
  url: string,
  init: { method?: string; body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, body: (await res.json()) as Json, headers: res.headers };
}

/** The dev chain's funded wallets Alice to Ferdie (sr25519, generic address format). */
export async function devWallets(): Promise<
  Record<'alice' | 'bob' | 'charlie' | 'dave' | 'eve' | 'ferdie', KeyringPair>
> {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  return {
    alice: keyring.addFromUri('//Alice'),
    bob: keyring.addFromUri('//Bob'),
    charlie: keyring.addFromUri('//Charlie'),
    dave: keyring.addFromUri('//Dave'),
    eve: keyring.addFromUri('//Eve'),
    ferdie: keyring.addFromUri('//Ferdie'),
  };
}

/** Signs `message` as wallet extensions do (wrapped in <Bytes>), or the raw bytes with `wrap` false. */
export function signMessage(pair: KeyringPair, message: string, wrap = true): string {
  return u8aToHex(pair.sign(wrap ? u8aWrapBytes(stringToU8a(message)) : stringToU8a(message)));
}

/** Asks for a SIWS message, signs it and returns the answer of /v1/auth/verify (token in the body, cookie header). */
export async function verifySignIn(
  base: string,
  pair: KeyringPair,
): Promise<{ status: number; body: Json; headers: Headers }> {
  const { body } = await request(`${base}/v1/auth/nonce`, { body: { address: pair.address } });
  const message = body.message as string;
  return request(`${base}/v1/auth/verify`, { body: { message, signature: signMessage(pair, message) } });
}

/** Signs in with the wallet and returns the session token. */
export async function signIn(base: string, pair: KeyringPair): Promise<string> {
  const verified = await verifySignIn(base, pair);
  if (!verified.body.ok) throw new Error(`sign-in refused: ${verified.body.code}`);
  return verified.body.token as string;
}

/** Opens a signed-in socket (no reconnection) and waits until it is connected. */
export async function openSocket(base: string, token: string): Promise<Socket> {
  const socket = connectSocket(base, { transports: ['websocket'], reconnection: false, auth: { token } });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}
