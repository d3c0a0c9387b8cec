import type { KeyringPair } from '@polkadot/keyring/types';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChatMessage } from '../../src/protocol.ts';
import type { LiveStream } from '../support/liveStream.ts';
import { type AckJson, call } from '../viewers-support.ts';
import { anonymousOn, Reader, startChatStream } from './support.ts';

const WAIT = { timeout: 10_000, interval: 20 };

describe('chat: creator and viewers talk in a stream, anyone reads', () => {
  let live: LiveStream;
  let alice: KeyringPair;
  let bob: KeyringPair;
  let charlie: KeyringPair;
  let streamId: string;
  let creator: Reader;
  let viewerB: Reader;
  let viewerC: Reader;
  let anonymous: Reader;

  const reader = async (pair?: KeyringPair): Promise<Reader> => {
    const r = new Reader(pair ? await live.open(pair) : await anonymousOn(live));
    await r.join(streamId);
    return r;
  };

  beforeAll(async () => {
    // Limits high enough for the paging test; they have a suite of their own.
    live = await startChatStream({
      chatEnv: { CHAT_MESSAGE_RATE_LIMIT_MAX: '1000', CHAT_SOCKET_RATE_LIMIT_MAX: '1000', CHAT_ROOMS_PER_SOCKET: '1' },
    });
    ({ alice, bob, charlie } = live.wallets);
    streamId = await live.announceStream(alice, 'Chatty show', 1_000_000n);
    creator = await reader(alice);
    viewerB = await reader(bob);
    viewerC = await reader(charlie);
    anonymous = await reader();
  });

  afterAll(async () => {
    await live?.close();
  });

  it('delivers each message to everyone in the room (the sender too, after its ack), with sender, badges, server and media time', async () => {
    const before = Date.now();
    const hello = await creator.say(streamId, 'Welcome, everyone!');
    expect(hello).toEqual({
      id: expect.stringMatching(/^[1-9][0-9]*$/),
      streamId,
      sender: alice.address,
      displayName: null,
      badges: ['creator'],
      text: 'Welcome, everyone!',
      sentAt: expect.any(Number),
      mediaTime: null,
    });
    expect(hello.sentAt).toBeGreaterThanOrEqual(before);
    const reply = await viewerB.say(streamId, 'Hi Alice', { mediaTime: 12.34567 });
    expect(reply).toMatchObject({ sender: bob.address, badges: [], mediaTime: 12.346 });
    expect(BigInt(reply.id)).toBeGreaterThan(BigInt(hello.id));
    const third = await viewerC.say(streamId, 'Hello from Charlie');

    const all = [hello.id, reply.id, third.id];
    await vi.waitFor(() => {
      for (const r of [anonymous, creator, viewerB, viewerC]) expect(r.received(all)).toEqual([hello, reply, third]);
    }, WAIT);
  });

  it('lets anyone read but only signed-in wallets write', async () => {
    expect(await anonymous.send(streamId, 'let me in')).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    expect(await call(anonymous.socket, 'chat:react', { streamId, reaction: 'heart' })).toMatchObject({
      ok: false,
      code: 'UNAUTHENTICATED',
    });
    expect(
      await call(anonymous.socket, 'chat:settings', { streamId, slowModeSeconds: 0, payingOnly: false }),
    ).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    expect(await call(anonymous.socket, 'chat:history', { streamId })).toMatchObject({ ok: true });
    expect(await call(anonymous.socket, 'chat:join', { streamId: 'no-such-stream' })).toMatchObject({
      ok: false,
      code: 'STREAM_NOT_FOUND',
    });
  });

  it('answers the last 100 messages on join, newest last, and older pages by `before`', async () => {
    const sent: ChatMessage[] = [];
    for (let i = 0; i < 130; i++) sent.push(await viewerB.say(streamId, `message ${i}`));
    const late = await reader(charlie);
    const joined = await late.join(streamId);
    const page = joined.messages;
    expect(page).toHaveLength(100);
    expect(page.at(-1)).toEqual(sent.at(-1));
    expect(page.slice(-100)).toEqual(sent.slice(-100));
    const older = (await call(late.socket, 'chat:history', { streamId, before: page[0]?.id })) as AckJson & {
      messages: ChatMessage[];
      more: boolean;
    };
    expect(older.ok).toBe(true);
    // 30 more of the 130, then the three of the first test.
    expect(older.messages.slice(-30)).toEqual(sent.slice(0, 30));
    expect(older.messages).toHaveLength(33);
    expect(older.more).toBe(false);
    const small = await call(late.socket, 'chat:history', { streamId, before: page[0]?.id, limit: 10 });
    expect(small).toMatchObject({ ok: true, more: true, messages: sent.slice(20, 30) });
    expect(await call(late.socket, 'chat:history', { streamId, limit: 5 })).toMatchObject({
      ok: true,
      more: true,
      messages: sent.slice(-5),
    });
  });

  it('sends a busy room’s messages in batches (chat:messages), in id order, each once', async () => {
    const before = anonymous.batches.length;
    // The creator skips the wallet limit: twelve at once.
    const sent = await Promise.all(Array.from({ length: 12 }, (_, i) => creator.say(streamId, `burst ${i}`)));
    const ids = sent.map((m) => m.id);
    await vi.waitFor(() => expect(anonymous.received(ids)).toHaveLength(12), WAIT);
    const batches = anonymous.batches.slice(before).filter((b) => b.messages.some((m) => ids.includes(m.id)));
    expect(batches.length).toBeLessThan(12);
    const got = batches.flatMap((b) => b.messages.map((m) => BigInt(m.id)));
    expect(got).toEqual([...got].sort((x, y) => (x < y ? -1 : 1)));
    expect(new Set(got).size).toBe(got.length);
    expect(batches.every((b) => b.streamId === streamId)).toBe(true);
  });

  it('stores and echoes markup and script verbatim, as text', async () => {
    const markup = '<script>alert("x")</script><img src=x onerror="alert(1)"> &amp; <b>bold</b> **md** {{ x }}';
    const stored = await viewerC.say(streamId, markup);
    expect(stored.text).toBe(markup);
    await vi.waitFor(() => expect(anonymous.received([stored.id])).toEqual([stored]), WAIT);
    const newest = await call(anonymous.socket, 'chat:history', { streamId, limit: 1 });
    expect((newest.messages as ChatMessage[])[0]?.text).toBe(markup);
    // Controls stripped, breaks as spaces, trimmed; emoji sequences (zero-width joiners) kept.
    const cleaned = await viewerC.say(streamId, '  a\u0000b\u202Ec\nd\u0007 👩‍💻  ');
    expect(cleaned.text).toBe('abc d 👩‍💻');
  });

  it('refuses every bad payload BAD_REQUEST and keeps serving', async () => {
    const bad: [string, unknown][] = [
      ['chat:send', { streamId, text: '' }],
      ['chat:send', { streamId, text: '   \n\t ' }],
      ['chat:send', { streamId, text: '\u0000\u0001' }],
      ['chat:send', { streamId, text: 'x'.repeat(501) }],
      ['chat:send', { streamId, text: 42 }],
      ['chat:send', { streamId: 'bad id!', text: 'hi' }],
      ['chat:send', { streamId, text: 'hi', mediaTime: -1 }],
      ['chat:send', { streamId, text: 'hi', mediaTime: 1e12 }],
      ['chat:send', { streamId, text: 'hi', mediaTime: '3' }],
      ['chat:send', { streamId, text: 'hi', clientId: '../etc' }],
      ['chat:send', { streamId, text: 'hi', clientId: 'x'.repeat(65) }],
      ['chat:send', null],
      ['chat:react', { streamId, reaction: 'poop' }],
      ['chat:react', { streamId }],
      ['chat:history', { streamId, before: '0' }],
      ['chat:history', { streamId, before: 'abc' }],
      ['chat:history', { streamId, before: '1'.repeat(19) }],
      ['chat:history', { streamId, limit: 101 }],
      ['chat:history', { streamId, limit: 0 }],
      ['chat:history', { streamId, limit: 2.5 }],
      ['chat:settings', { streamId, slowModeSeconds: -1, payingOnly: false }],
      ['chat:settings', { streamId, slowModeSeconds: 3_601, payingOnly: false }],
      ['chat:settings', { streamId, slowModeSeconds: 1.5, payingOnly: false }],
      ['chat:settings', { streamId, slowModeSeconds: 1, payingOnly: 'yes' }],
      ['chat:join', { streamId: '' }],
      ['chat:leave', {}],
    ];
    for (const [event, payload] of bad) {
      expect({ event, payload, res: await call(viewerB.socket, event, payload) }).toMatchObject({
        res: { ok: false, code: 'BAD_REQUEST' },
      });
    }
    // 500 characters (code points, here astral ones) is the most.
    expect(await viewerB.send(streamId, '😀'.repeat(500))).toMatchObject({ ok: true });
    expect(await viewerB.send(streamId, '😀'.repeat(501))).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    // Not in the chat: join first.
    const outsider = new Reader(await live.open(bob));
    expect(await outsider.send(streamId, 'hi')).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await viewerB.say(streamId, 'still here')).toMatchObject({ text: 'still here' });
  });

  it('answers a retry with the same client id with the stored message, sent to the room once', async () => {
    const first = await viewerC.say(streamId, 'once only', { clientId: 'retry-1' });
    const again = await viewerC.say(streamId, 'once only', { clientId: 'retry-1' });
    expect(again).toEqual(first);
    const marker = await viewerC.say(streamId, 'after the retry');
    await vi.waitFor(() => expect(anonymous.received([marker.id])).toHaveLength(1), WAIT);
    expect(anonymous.received([first.id])).toEqual([first]);
    // Another wallet may use the same client id.
    expect((await viewerB.say(streamId, 'mine', { clientId: 'retry-1' })).id).not.toBe(first.id);
  });

  it('lets only the creator change the settings, which reach the room and come with the join', async () => {
    const change = { streamId, slowModeSeconds: 0, payingOnly: false };
    expect(await call(viewerB.socket, 'chat:settings', change)).toMatchObject({ ok: false, code: 'NOT_CREATOR' });
    expect(await call(creator.socket, 'chat:settings', { ...change, slowModeSeconds: 30 })).toMatchObject({
      ok: true,
      settings: { slowModeSeconds: 30, payingOnly: false },
    });
    await vi.waitFor(() => expect(anonymous.settings.at(-1)).toEqual({ ...change, slowModeSeconds: 30 }), WAIT);
    const late = new Reader(await anonymousOn(live));
    expect((await late.join(streamId)).settings).toEqual({ slowModeSeconds: 30, payingOnly: false });
    expect(await call(creator.socket, 'chat:settings', change)).toMatchObject({ ok: true });
  });

  it('lets a socket follow at most CHAT_ROOMS_PER_SOCKET chats (here 1), and another once it left one', async () => {
    const other = await live.announceStream(alice, 'Second show', 1_000_000n);
    expect(await call(anonymous.socket, 'chat:join', { streamId: other })).toMatchObject({
      ok: false,
      code: 'LIMIT_REACHED',
      details: { limit: 'chats-per-socket', max: '1' },
    });
    // Joining the same chat again is no second chat.
    await anonymous.join(streamId);
    const zapper = new Reader(await anonymousOn(live));
    await zapper.join(streamId);
    expect(await call(zapper.socket, 'chat:leave', { streamId })).toEqual({ ok: true });
    expect(await zapper.join(other)).toMatchObject({ streamId: other, messages: [] });
  });

  it('stops sending to a socket that left, and counts messages in the metrics', async () => {
    expect(await call(viewerC.socket, 'chat:leave', { streamId })).toEqual({ ok: true });
    const after = await viewerB.say(streamId, 'Charlie left');
    await vi.waitFor(() => expect(anonymous.received([after.id])).toHaveLength(1), WAIT);
    expect(viewerC.received([after.id])).toEqual([]);
    const metrics = await (await fetch(`${live.server.url}/metrics`)).text();
    expect(Number(/^signaling_chat_messages_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(130);
    expect(metrics).toMatch(/^signaling_chat_refusals_total\{event="chat:send",code="BAD_REQUEST"\} \d+$/m);
  });

  it('keeps an ended stream’s chat readable and refuses new messages', async () => {
    expect(await call(creator.socket, 'stream:end', { streamId })).toMatchObject({ ok: true });
    expect(await viewerB.send(streamId, 'too late')).toMatchObject({
      ok: false,
      code: 'STREAM_NOT_LIVE',
      details: { reason: 'ended' },
    });
    const page = await call(anonymous.socket, 'chat:history', { streamId, limit: 1 });
    expect((page.messages as ChatMessage[])[0]?.text).toBe('Charlie left');
  });
});
