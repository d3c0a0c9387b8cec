import type { KeyringPair } from '@polkadot/keyring/types';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChatModule } from '../../src/chat/ChatModule.ts';
import type { ChatMessage, ChatModAction } from '../../src/protocol.ts';
import type { LiveStream } from '../support/liveStream.ts';
import { type AckJson, call, callOk } from '../viewers-support.ts';
import { anonymousOn, chatOf, Reader, startChatStream } from './support.ts';

const WAIT = { timeout: 15_000, interval: 20 };

describe('chat moderation: moderators, deletions, timeouts, bans, the log', () => {
  let live: LiveStream;
  let w: LiveStream['wallets'];
  let chat: ChatModule;
  let streamId: string;
  let creator: Reader;
  let moderator: Reader;
  let watcher: Reader;

  const reader = async (pair: KeyringPair, stream = streamId): Promise<Reader> => {
    const r = new Reader(await live.open(pair));
    await r.join(stream);
    return r;
  };

  beforeAll(async () => {
    // The defaults: 5 messages per 10 s per wallet; the socket limit out of the way of the many requests here.
    live = await startChatStream({ chatEnv: { CHAT_SOCKET_RATE_LIMIT_MAX: '1000' } });
    w = live.wallets;
    chat = chatOf(live.server.modules);
    streamId = await live.announceStream(w.alice, 'Moderated', 1_000_000n);
    creator = await reader(w.alice);
    moderator = await reader(w.bob);
    watcher = new Reader(await anonymousOn(live));
    await watcher.join(streamId);
  });

  afterAll(async () => {
    await live?.close();
  });

  it('lets only the creator name moderators, within a bounded list; moderators read it and get their badge', async () => {
    expect(await call(moderator.socket, 'chat:moderators', { streamId, add: [w.eve.address] })).toMatchObject({
      ok: false,
      code: 'NOT_CREATOR',
    });
    expect(await call(moderator.socket, 'chat:moderators', { streamId })).toMatchObject({
      ok: false,
      code: 'NOT_MODERATOR',
    });
    expect(await call(creator.socket, 'chat:moderators', { streamId, add: [w.bob.address] })).toEqual({
      ok: true,
      moderators: [w.bob.address],
    });
    expect(await call(moderator.socket, 'chat:moderators', { streamId })).toEqual({
      ok: true,
      moderators: [w.bob.address],
    });
    expect(await call(moderator.socket, 'chat:moderators', { streamId, remove: [w.bob.address] })).toMatchObject({
      ok: false,
      code: 'NOT_CREATOR',
    });
    expect(await call(creator.socket, 'chat:moderators', { streamId, add: [w.alice.address] })).toMatchObject({
      ok: false,
      code: 'BAD_REQUEST',
    });
    const tooMany = Array.from({ length: 51 }, () => w.eve.address);
    expect(await call(creator.socket, 'chat:moderators', { streamId, add: tooMany })).toMatchObject({
      ok: false,
      code: 'BAD_REQUEST',
    });
    expect(await call(creator.socket, 'chat:moderators', { streamId, add: ['not-an-address'] })).toMatchObject({
      ok: false,
      code: 'BAD_REQUEST',
    });
    expect((await moderator.say(streamId, 'I keep order here')).badges).toEqual(['moderator']);
  });

  it('answers chat:join with the wallet’s part in the moderation: creator, moderator (named above) or null', async () => {
    expect((await creator.join(streamId)).role).toBe('creator');
    expect((await moderator.join(streamId)).role).toBe('moderator');
    const eve = await reader(w.eve);
    expect((await eve.join(streamId)).role).toBeNull();
    expect((await watcher.join(streamId)).role).toBeNull();
    // A moderator of the creator moderates all of its streams.
    const other = await live.announceStream(w.alice, 'Another show', 1_000_000n);
    expect((await moderator.join(other)).role).toBe('moderator');
  });

  it('refuses moderation to wallets that are neither creator nor moderator (NOT_MODERATOR)', async () => {
    const eve = await reader(w.eve);
    const target = w.charlie.address;
    const requests: [string, unknown][] = [
      ['chat:delete', { streamId, messageId: '1' }],
      ['chat:timeout', { streamId, wallet: target, minutes: 1 }],
      ['chat:ban', { streamId, wallet: target }],
      ['chat:unban', { streamId, wallet: target }],
      ['chat:modlog', { streamId }],
    ];
    for (const [event, payload] of requests) {
      expect({ event, res: await call(eve.socket, event, payload) }).toMatchObject({
        res: { ok: false, code: 'NOT_MODERATOR' },
      });
    }
    expect(await call(eve.socket, 'chat:settings', { streamId, slowModeSeconds: 5, payingOnly: false })).toMatchObject({
      ok: false,
      code: 'NOT_CREATOR',
    });
    const bad: [string, unknown][] = [
      ['chat:timeout', { streamId, wallet: target, minutes: 2 }],
      ['chat:timeout', { streamId, wallet: target }],
      ['chat:ban', { streamId, wallet: target, removeFromStream: 'yes' }],
      ['chat:delete', { streamId, messageId: 'x' }],
      ['chat:modlog', { streamId, limit: 101 }],
    ];
    for (const [event, payload] of bad) {
      expect({ event, res: await call(moderator.socket, event, payload) }).toMatchObject({
        res: { ok: false, code: 'BAD_REQUEST' },
      });
    }
  });

  it('deletes a message: everyone hears chat:deleted, history leaves it out, the database keeps it marked', async () => {
    const charlie = await reader(w.charlie);
    const spam = await charlie.say(streamId, 'buy cheap tokens at …');
    const fine = await charlie.say(streamId, 'sorry, fine now');
    await vi.waitFor(() => expect(watcher.received([spam.id, fine.id])).toHaveLength(2), WAIT);
    expect(await callOk(moderator.socket, 'chat:delete', { streamId, messageId: spam.id })).toEqual({ ok: true });
    const event = { streamId, messageId: spam.id, by: w.bob.address };
    await vi.waitFor(() => {
      for (const r of [watcher, creator, charlie, moderator]) expect(r.deleted).toContainEqual(event);
    }, WAIT);
    const history = (await callOk(watcher.socket, 'chat:history', { streamId })).messages as ChatMessage[];
    expect(history.map((m) => m.id)).not.toContain(spam.id);
    expect(history.at(-1)).toEqual(fine);
    expect((await new Reader(await anonymousOn(live)).join(streamId)).messages.map((m) => m.id)).not.toContain(spam.id);
    expect(await chat.moderation.message(streamId, BigInt(spam.id))).toEqual({
      sender: w.charlie.address,
      deleted: true,
    });
    // Again: answered, not sent twice; an unknown message is a bad request.
    expect(await callOk(creator.socket, 'chat:delete', { streamId, messageId: spam.id })).toEqual({ ok: true });
    expect(await call(creator.socket, 'chat:delete', { streamId, messageId: '999999999' })).toMatchObject({
      ok: false,
      code: 'BAD_REQUEST',
    });
    const marker = await creator.say(streamId, 'marker after the deletion');
    await vi.waitFor(() => expect(watcher.received([marker.id])).toHaveLength(1), WAIT);
    expect(watcher.deleted.filter((d) => d.messageId === spam.id)).toHaveLength(1);
  });

  it('times a wallet out until the server’s `until`, after a reconnect too; an unban or an expired timeout lifts it', async () => {
    const charlie = await reader(w.charlie);
    const before = Date.now();
    const { until } = (await callOk(moderator.socket, 'chat:timeout', {
      streamId,
      wallet: w.charlie.address,
      minutes: 5,
    })) as AckJson & { until: number };
    expect(until).toBeGreaterThanOrEqual(before + 300_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 300_000);
    for (const r of [charlie, await reader(w.charlie)]) {
      const refused = await r.send(streamId, 'let me talk');
      expect(refused).toMatchObject({ ok: false, code: 'CHAT_TIMED_OUT', details: { until: String(until) } });
      const retryAfterMs = Number(refused.details?.retryAfterMs);
      expect(retryAfterMs).toBeGreaterThan(0);
      expect(retryAfterMs).toBeLessThanOrEqual(until - before);
    }
    expect(await callOk(moderator.socket, 'chat:unban', { streamId, wallet: w.charlie.address })).toEqual({
      ok: true,
      lifted: true,
    });
    expect(await charlie.say(streamId, 'back again')).toMatchObject({ sender: w.charlie.address });
    // A timeout whose `until` has passed (written so, rather than waiting a minute) lets the wallet post.
    const at = Date.now();
    await chat.moderation.setBan(w.alice.address, w.charlie.address, { until: at - 1, by: w.bob.address, at });
    // Written past the handlers: the node's memory of the creator's bans is dropped so the post reads it.
    chat.state.invalidateCreator(w.alice.address);
    expect(await charlie.say(streamId, 'the timeout ran out')).toMatchObject({ sender: w.charlie.address });
    expect(await callOk(creator.socket, 'chat:unban', { streamId, wallet: w.charlie.address })).toEqual({
      ok: true,
      lifted: true,
    });
  });

  it('never bans or times out the creator; a moderator cannot act on another moderator', async () => {
    await callOk(creator.socket, 'chat:moderators', { streamId, add: [w.ferdie.address] });
    expect(
      await call(moderator.socket, 'chat:timeout', { streamId, wallet: w.alice.address, minutes: 1 }),
    ).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await call(moderator.socket, 'chat:ban', { streamId, wallet: w.alice.address })).toMatchObject({
      ok: false,
      code: 'BAD_REQUEST',
    });
    expect(await call(moderator.socket, 'chat:ban', { streamId, wallet: w.ferdie.address })).toMatchObject({
      ok: false,
      code: 'NOT_CREATOR',
    });
    expect(
      await call(moderator.socket, 'chat:timeout', { streamId, wallet: w.ferdie.address, minutes: 1 }),
    ).toMatchObject({ ok: false, code: 'NOT_CREATOR' });
    expect(await callOk(creator.socket, 'chat:moderators', { streamId, remove: [w.ferdie.address] })).toMatchObject({
      moderators: [w.bob.address],
    });
  });

  it('bans a wallet from the creator’s chats: removed from the stream, refused after a reconnect and on the next stream, until unbanned', async () => {
    await callOk(creator.socket, 'stream:goLive', { streamId });
    await live.publish(creator.socket, streamId);
    const { viewer } = await live.joinRtcViewer(w.dave, streamId);
    const released: unknown[] = [];
    viewer.socket.on('viewer:released', (p: unknown) => released.push(p));
    const dave = await reader(w.dave);
    expect((await dave.say(streamId, 'watching and paying')).badges).toEqual(['paying']);

    expect(
      await callOk(moderator.socket, 'chat:ban', { streamId, wallet: w.dave.address, removeFromStream: true }),
    ).toEqual({ ok: true, removed: 1 });
    await vi.waitFor(() => expect(released).toHaveLength(1), WAIT);
    expect(released[0]).toEqual({
      reason: 'banned',
      owed: expect.stringMatching(/^\d+$/),
      settled: expect.stringMatching(/^\d+$/),
    });
    expect(live.viewers().viewer(viewer.sessionId)).toBeUndefined();
    expect(live.viewers().payingHere(w.dave.address, streamId)).toBe(false);

    expect(await dave.send(streamId, 'hello?')).toMatchObject({ ok: false, code: 'CHAT_BANNED' });
    const reconnected = await reader(w.dave);
    expect(await reconnected.send(streamId, 'new socket, same wallet')).toMatchObject({
      ok: false,
      code: 'CHAT_BANNED',
    });
    const next = await live.announceStream(w.alice, 'The next show', 1_000_000n);
    const onNext = await reader(w.dave, next);
    expect(await onNext.send(next, 'another stream then')).toMatchObject({ ok: false, code: 'CHAT_BANNED' });
    // A banned wallet is not timed out over its ban.
    expect(
      await call(moderator.socket, 'chat:timeout', { streamId, wallet: w.dave.address, minutes: 1 }),
    ).toMatchObject({ ok: false, code: 'BAD_REQUEST' });

    const creatorOnNext = await reader(w.alice, next);
    expect(await callOk(creatorOnNext.socket, 'chat:unban', { streamId: next, wallet: w.dave.address })).toEqual({
      ok: true,
      lifted: true,
    });
    expect(await onNext.say(next, 'thank you')).toMatchObject({ sender: w.dave.address });
    expect(await callOk(creatorOnNext.socket, 'chat:unban', { streamId: next, wallet: w.dave.address })).toEqual({
      ok: true,
      lifted: false,
    });
  });

  it('lets moderators set slow mode and skip it and the message rate limit', async () => {
    const settings = { streamId, slowModeSeconds: 60, payingOnly: false };
    expect(await callOk(moderator.socket, 'chat:settings', settings)).toMatchObject({
      settings: { slowModeSeconds: 60, payingOnly: false },
    });
    await vi.waitFor(() => expect(watcher.settings.at(-1)).toEqual(settings), WAIT);
    // Past the wallet limit (5 per 10 s) and within the slow mode, back to back.
    for (let i = 0; i < 8; i++) await moderator.say(streamId, `moderator note ${i}`);
    const eve = await reader(w.eve);
    await eve.say(streamId, 'one');
    expect(await eve.send(streamId, 'two')).toMatchObject({
      ok: false,
      code: 'RATE_LIMITED',
      details: { reason: 'slow-mode' },
    });
    await callOk(moderator.socket, 'chat:settings', { ...settings, slowModeSeconds: 0 });
  });

  it('records every action in the log, newest first, paged, for the creator and its moderators', async () => {
    const first = (await callOk(creator.socket, 'chat:modlog', { streamId })) as AckJson & {
      actions: ChatModAction[];
      more: boolean;
    };
    expect(first.more).toBe(false);
    const kinds = first.actions.map((a) => a.action);
    expect(kinds).toEqual([
      'settings',
      'settings',
      'unban',
      'ban',
      'moderators',
      'moderators',
      'unban',
      'unban',
      'timeout',
      'delete',
      'moderators',
    ]);
    expect(first.actions.map((a) => BigInt(a.id))).toEqual(
      first.actions.map((a) => BigInt(a.id)).sort((a, b) => (a > b ? -1 : 1)),
    );
    const ban = first.actions.find((a) => a.action === 'ban');
    expect(ban).toMatchObject({
      streamId,
      actor: w.bob.address,
      target: w.dave.address,
      details: { removeFromStream: 'true', removed: '1' },
      at: expect.any(Number),
    });
    expect(first.actions.find((a) => a.action === 'timeout')).toMatchObject({
      actor: w.bob.address,
      target: w.charlie.address,
      details: { minutes: '5', until: expect.stringMatching(/^\d+$/) },
    });
    expect(first.actions.find((a) => a.action === 'delete')).toMatchObject({
      target: w.charlie.address,
      details: { messageId: expect.stringMatching(/^\d+$/) },
    });
    expect(first.actions.at(-1)).toMatchObject({
      actor: w.alice.address,
      details: { added: w.bob.address, removed: '' },
    });
    const page = await callOk(moderator.socket, 'chat:modlog', { streamId, limit: 2, before: first.actions[1]?.id });
    expect(page).toEqual({ ok: true, actions: first.actions.slice(2, 4), more: true });
  });
});
