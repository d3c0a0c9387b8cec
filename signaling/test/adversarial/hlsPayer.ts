// What the HLS edge attacks share: a paying viewer joined over HLS (its token handed to the attacker's players), and
// the check that the session was charged exactly what the edge reported delivered.
import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Socket } from 'socket.io-client';
import { expect, vi } from 'vitest';
import { type LiveStream, PayingViewer } from '../support/liveStream.ts';
import { callOk } from '../viewers-support.ts';
import { metric } from './viewerAttacks.ts';

/** A funded session of `wallet` joined over HLS, acknowledging ticks as they come; its playlist URL and token. */
export async function joinHlsPayer(
  live: LiveStream,
  streamId: string,
  wallet: KeyringPair = live.wallets.bob,
): Promise<{ socket: Socket; payer: PayingViewer; playlistUrl: string; token: string }> {
  const session = live.newSession(wallet, streamId);
  await live.fund(wallet, session);
  const socket = await live.open(wallet);
  const payer = new PayingViewer(socket, live.client.facts.genesisHash, streamId, session);
  const admission = await callOk(socket, 'viewer:join', { streamId, mode: 'hls', session: session.payload });
  payer.hlsToken = admission.token as string;
  return { socket, payer, playlistUrl: admission.playlistUrl as string, token: admission.token as string };
}

/**
 * Waits until the edge reported `seconds` delivered in all (and `limited` fetches refused, when given), and the meter
 * charged the session exactly those seconds at `price`: no more after the ticks caught up.
 */
export async function expectChargedExactly(
  live: LiveStream,
  payer: PayingViewer,
  expected: { seconds: number; price: bigint; limited?: number },
): Promise<void> {
  const reported = async () => ({
    delivered: await metric(live, 'signaling_hls_edge_delivered_seconds_total'),
    ...(expected.limited === undefined ? {} : { limited: await metric(live, 'signaling_hls_edge_limited_total') }),
  });
  const want = {
    delivered: expected.seconds,
    ...(expected.limited === undefined ? {} : { limited: expected.limited }),
  };
  await vi.waitFor(async () => expect(await reported()).toEqual(want), { timeout: 10_000, interval: 100 });
  // The meter spends the credit at one second per round: wait for the ticks to catch up, then nothing more.
  await vi.waitFor(() => expect(payer.lastTick?.watchedSeconds).toBe(expected.seconds), {
    timeout: 60_000,
    interval: 200,
  });
  await sleep(2_500);
  expect(payer.lastTick?.watchedSeconds).toBe(expected.seconds);
  expect(BigInt(payer.lastTick?.owed ?? '0')).toBe(BigInt(expected.seconds) * expected.price);
}
