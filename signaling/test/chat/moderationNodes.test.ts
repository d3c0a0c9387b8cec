import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChatMessage } from '../../src/protocol.ts';
import type { LiveStream } from '../support/liveStream.ts';
import { type AckJson, call, callOk } from '../viewers-support.ts';
import { startTwoChatNodes, type TwoChatNodes } from './twoNodes.ts';

const REDIS_URL = process.env.REDIS_URL;
const WAIT = { timeout: 15_000, interval: 20 };

describe.skipIf(!REDIS_URL)('chat moderation shared by two nodes through Redis and the database', () => {
  let nodes: TwoChatNodes;
  let live: LiveStream;
  let streamId: string;

  beforeAll(async () => {
    nodes = await startTwoChatNodes(REDIS_URL as string);
    live = nodes.live;
    streamId = await live.announceStream(live.wallets.alice, 'Two moderated nodes', 1_000_000n);
  });

  afterAll(async () => {
    await nodes?.close();
  });

  it('holds a ban and a timeout made on one node on the other, and sends deletions to both nodes’ readers', async () => {
    const { alice, bob, charlie, dave } = live.wallets;
    const reader = (node: 'a' | 'b', pair?: (typeof live.wallets)['alice']) =>
      nodes.reader(node === 'a' ? nodes.a : nodes.b, streamId, pair);
    const creatorOnA = await reader('a', alice);
    await callOk(creatorOnA.socket, 'chat:moderators', { streamId, add: [bob.address] });
    const moderatorOnB = await reader('b', bob);
    const anonOnA = await reader('a');
    const anonOnB = await reader('b');
    const charlieOnA = await reader('a', charlie);
    const daveOnB = await reader('b', dave);

    const spam: ChatMessage = await charlieOnA.say(streamId, 'spam on A');
    await callOk(moderatorOnB.socket, 'chat:delete', { streamId, messageId: spam.id });
    const deleted = { streamId, messageId: spam.id, by: bob.address };
    await vi.waitFor(() => {
      expect(anonOnA.deleted).toContainEqual(deleted);
      expect(anonOnB.deleted).toContainEqual(deleted);
    }, WAIT);

    // Banned on B (by the moderator), refused on A; timed out on A (by the creator), refused on B.
    await callOk(moderatorOnB.socket, 'chat:ban', { streamId, wallet: charlie.address });
    expect(await charlieOnA.send(streamId, 'and on A?')).toMatchObject({ ok: false, code: 'CHAT_BANNED' });
    const { until } = (await callOk(creatorOnA.socket, 'chat:timeout', {
      streamId,
      wallet: dave.address,
      minutes: 1,
    })) as AckJson & { until: number };
    expect(await daveOnB.send(streamId, 'and on B?')).toMatchObject({
      ok: false,
      code: 'CHAT_TIMED_OUT',
      details: { until: String(until) },
    });
    // The moderator named on A posts past its wallet limit on B.
    for (let i = 0; i < 7; i++) expect((await moderatorOnB.say(streamId, `note ${i}`)).badges).toEqual(['moderator']);

    expect(await callOk(moderatorOnB.socket, 'chat:modlog', { streamId, limit: 3 })).toMatchObject({
      actions: [{ action: 'timeout' }, { action: 'ban' }, { action: 'delete' }],
      more: true,
    });
    await callOk(creatorOnA.socket, 'chat:unban', { streamId, wallet: charlie.address });
    expect(await call(charlieOnA.socket, 'chat:send', { streamId, text: 'back' })).toMatchObject({ ok: true });
  });

  it('holds settings changed on one node on the other, which held the old ones in memory', async () => {
    const { alice, ferdie } = live.wallets;
    const creatorOnB = await nodes.reader(nodes.b, streamId, alice);
    const ferdieOnA = await nodes.reader(nodes.a, streamId, ferdie);
    // A holds the settings (slow mode off) and Ferdie's standing once it posted.
    expect(await ferdieOnA.send(streamId, 'first')).toMatchObject({ ok: true });
    await callOk(creatorOnB.socket, 'chat:settings', { streamId, slowModeSeconds: 60, payingOnly: false });
    expect(await ferdieOnA.send(streamId, 'second')).toMatchObject({ ok: true });
    expect(await ferdieOnA.send(streamId, 'too soon')).toMatchObject({
      ok: false,
      code: 'RATE_LIMITED',
      details: { reason: 'slow-mode' },
    });
    await callOk(creatorOnB.socket, 'chat:settings', { streamId, slowModeSeconds: 0, payingOnly: true });
    expect(await ferdieOnA.send(streamId, 'third')).toMatchObject({ ok: false, code: 'CHAT_PAYING_ONLY' });
    await callOk(creatorOnB.socket, 'chat:settings', { streamId, slowModeSeconds: 0, payingOnly: false });
  });
});
