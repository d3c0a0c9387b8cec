// HTTP and Socket.IO clients of a signaling node, as the dapp uses them: JSON requests, wallet sign-in, sockets.
import type { KeyringPair } from '@polkadot/keyring/types';
import { stringToU8a, u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { io as connectSocket, type Socket } from 'socket.io-client';

/** A JSON answer of the HTTP API. */
export interface Json {
  ok: boolean;
  code?: string;
  details?: Record<string, string>;
  [key: string]: unknown;
}

/** GET (no body) or POST (JSON body) with an optional bearer session token. */
export async function request(
  url: string,
  init: { method?: string; body?: unknown; token?: string } = {},
): Promise<{ status: number; body: Json }> {
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

/** Signs in with the wallet (SIWS message wrapped in <Bytes>, as extensions sign) and returns the session token. */
export async function signIn(base: string, pair: KeyringPair): Promise<string> {
  const { body } = await request(`${base}/v1/auth/nonce`, { body: { address: pair.address } });
  const message = body.message as string;
  const signature = u8aToHex(pair.sign(u8aWrapBytes(stringToU8a(message))));
  const verified = await request(`${base}/v1/auth/verify`, { body: { message, signature } });
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
