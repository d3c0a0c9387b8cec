import type { KeyringPair } from '@polkadot/keyring/types';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SignalingServer } from '../../src/index.ts';
import type { LiveStream } from '../support/liveStream.ts';
import { type AckJson, call, callOk } from '../viewers-support.ts';
import type { Reader } from './support.ts';
import { startTwoChatNodes, type TwoChatNodes } from './twoNodes.ts';

const REDIS_URL = process.env.REDIS_URL;
const WAIT = { timeout: 15_000, interval: 20 };

describe.skipIf(!REDIS_URL)('chat shared by two nodes through Redis', () => {
  let nodes: TwoChatNodes;
  let live: LiveStream;
  let a: SignalingServer;
  let b: SignalingServer;
  let streamId: string;

  /** A reader of `pair` (or anonymous) on `node`, in the stream's chat. */
  const reader = (node: SignalingServer, pair?: KeyringPair): Promise<Reader> => nodes.reader(node, streamId, pair);

  beforeAll(async () => {
    nodes = await startTwoChatNodes(REDIS_URL as string);
    ({ live, a, b } = nodes);
    streamId = await live.announceStream(live.wallets.alice, 'Two nodes', 1_000_000n);
  });

  afterAll(async () => {
    await nodes?.close();
  });

  it('delivers messages between readers of both nodes and shares the history', async () => {
    const creator = await reader(a, live.wallets.alice);
    const viewer = await reader(b, live.wallets.bob);
    const anonA = await reader(a);
    const anonB = await reader(b);
    const hello = await creator.say(streamId, 'hello from A');
    const reply = await viewer.say(streamId, 'hello from B');
    await vi.waitFor(() => {
      expect(anonA.received([hello.id, reply.id])).toEqual([hello, reply]);
      expect(anonB.received([hello.id, reply.id])).toEqual([hello, reply]);
      expect(viewer.received([hello.id, reply.id])).toEqual([hello, reply]);
      expect(creator.received([hello.id, reply.id])).toEqual([hello, reply]);
    }, WAIT);
    expect((await anonB.join(streamId)).messages.slice(-2)).toEqual([hello, reply]);
  });

  it('counts a wallet’s messages across the nodes', async () => {
    const onA = await reader(a, live.wallets.charlie);
    const onNodeB = await reader(b, live.wallets.charlie);
    for (let i = 0; i < 5; i++) await (i < 3 ? onA : onNodeB).say(streamId, `shared ${i}`);
    for (const r of [onA, onNodeB]) {
      expect(await r.send(streamId, 'one too many')).toMatchObject({
        ok: false,
        code: 'RATE_LIMITED',
        details: { reason: 'wallet', retryAfterMs: expect.stringMatching(/^\d+$/) },
      });
    }
  });

  it('holds slow mode set on one node on the other', async () => {
    const creatorOnA = await reader(a, live.wallets.alice);
    const daveOnA = await reader(a, live.wallets.dave);
    const daveOnB = await reader(b, live.wallets.dave);
    await callOk(creatorOnA.socket, 'chat:settings', { streamId, slowModeSeconds: 60, payingOnly: false });
    await vi.waitFor(() => expect(daveOnB.settings.at(-1)).toMatchObject({ slowModeSeconds: 60 }), WAIT);
    await daveOnA.say(streamId, 'slowly');
    const refused: AckJson = await daveOnB.send(streamId, 'too soon, elsewhere');
    expect(refused).toMatchObject({ ok: false, code: 'RATE_LIMITED', details: { reason: 'slow-mode' } });
    expect(Number(refused.details?.retryAfterMs)).toBeGreaterThan(50_000);
    await callOk(creatorOnA.socket, 'chat:settings', { streamId, slowModeSeconds: 0, payingOnly: false });
  });

  it('sends each node’s reaction sums to the readers of both', async () => {
    const watcher = await reader(a);
    const eveOnA = await reader(a, live.wallets.eve);
    const ferdieOnB = await reader(b, live.wallets.ferdie);
    await Promise.all([
      ...Array.from({ length: 4 }, () => call(eveOnA.socket, 'chat:react', { streamId, reaction: 'fire' })),
      ...Array.from({ length: 3 }, () => call(ferdieOnB.socket, 'chat:react', { streamId, reaction: 'fire' })),
    ]);
    await vi.waitFor(() => {
      const fire = watcher.reactions.reduce((sum, r) => sum + (r.counts.fire ?? 0), 0);
      expect(fire).toBe(7);
    }, WAIT);
    // One event per node at most (each node sums its own presses).
    expect(watcher.reactions.length).toBeLessThanOrEqual(2);
  });
});
