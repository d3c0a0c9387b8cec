import type { KeyringPair } from '@polkadot/keyring/types';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChatModule } from '../../src/chat/ChatModule.ts';
import type { LiveStream } from '../support/liveStream.ts';
import { type AckJson, call, callOk } from '../viewers-support.ts';
import { anonymousOn, chatOf, Reader, sleep, startChatStream } from './support.ts';

const WAIT = { timeout: 15_000, interval: 20 };

/** The wait a RATE_LIMITED refusal names (ms), checked to be a real wait within `maxMs`. */
function retryAfter(res: AckJson, reason: string, maxMs: number): number {
  expect(res).toMatchObject({ ok: false, code: 'RATE_LIMITED', details: { reason } });
  const ms = Number(res.details?.retryAfterMs);
  expect(ms).toBeGreaterThan(0);
  expect(ms).toBeLessThanOrEqual(maxMs);
  return ms;
}

describe('chat limits: rate limits, slow mode, paying viewers only, reactions', () => {
  let live: LiveStream;
  let w: LiveStream['wallets'];
  let streamId: string;
  let creator: Reader;
  let chat: ChatModule;

  const reader = async (pair: KeyringPair): Promise<Reader> => {
    const r = new Reader(await live.open(pair));
    await r.join(streamId);
    return r;
  };

  beforeAll(async () => {
    // The defaults: 5 messages per 10 s per wallet, 40 requests per 10 s per socket, 10 reactions per second.
    live = await startChatStream();
    w = live.wallets;
    streamId = await live.announceStream(w.alice, 'Limits', 1_000_000n);
    creator = await reader(w.alice);
    chat = chatOf(live.server.modules);
  });

  afterAll(async () => {
    await live?.close();
  });

  it('refuses a wallet past 5 messages in 10 s with retryAfterMs, on all its sockets, then takes it again', async () => {
    const first = await reader(w.bob);
    const second = await reader(w.bob);
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(await (i % 2 ? second : first).say(streamId, `burst ${i}`));
    const wait = retryAfter(await second.send(streamId, 'one too many'), 'wallet', 10_000);
    await sleep(wait);
    const later = await first.say(streamId, 'back again');
    // The window opened as the first message was taken, a moment before its server time.
    expect(later.sentAt - (sent[0]?.sentAt ?? 0)).toBeGreaterThan(9_900);
  });

  it('refuses a socket past 40 chat requests in 10 s, signed in or not', async () => {
    const socket = await anonymousOn(live);
    for (let i = 0; i < 40; i++) await callOk(socket, 'chat:history', { streamId, limit: 1 });
    retryAfter(await call(socket, 'chat:history', { streamId, limit: 1 }), 'socket', 10_000);
    // Another socket is not held back.
    const other = await anonymousOn(live);
    await callOk(other, 'chat:history', { streamId, limit: 1 });
  });

  it('holds a wallet to slow mode per stream, from the server’s times; the creator is exempt', async () => {
    await callOk(creator.socket, 'chat:settings', { streamId, slowModeSeconds: 3, payingOnly: false });
    const charlie = await reader(w.charlie);
    const first = await charlie.say(streamId, 'slow one');
    const wait = retryAfter(await charlie.send(streamId, 'too soon'), 'slow-mode', 3_000);
    await sleep(wait);
    const second = await charlie.say(streamId, 'slow two');
    expect(second.sentAt - first.sentAt).toBeGreaterThan(2_900);
    // The creator posts back to back.
    await creator.say(streamId, 'no waiting for me');
    await creator.say(streamId, 'nor now');
    await callOk(creator.socket, 'chat:settings', { streamId, slowModeSeconds: 0, payingOnly: false });
    expect(await charlie.send(streamId, 'free again')).toMatchObject({ ok: true });
  });

  it('lets only the creator and paying viewers post when paying-only, with the paying badge', async () => {
    await callOk(creator.socket, 'chat:settings', { streamId, slowModeSeconds: 0, payingOnly: true });
    const dave = await reader(w.dave);
    expect(await dave.send(streamId, 'can I?')).toMatchObject({ ok: false, code: 'CHAT_PAYING_ONLY' });
    expect(await creator.say(streamId, 'paying viewers only now')).toMatchObject({ badges: ['creator'] });

    await callOk(creator.socket, 'stream:goLive', { streamId });
    await live.publish(creator.socket, streamId);
    const { viewer } = await live.joinRtcViewer(w.dave, streamId);
    // Dave's session is watching with its payments current: his chat socket (another one) may post.
    const paid = await dave.say(streamId, 'now I pay');
    expect(paid.badges).toEqual(['paying']);
    expect(await callOk(viewer.socket, 'viewer:leave', {})).toMatchObject({ ok: true });
    expect(await dave.send(streamId, 'and now?')).toMatchObject({ ok: false, code: 'CHAT_PAYING_ONLY' });
    await callOk(creator.socket, 'chat:settings', { streamId, slowModeSeconds: 0, payingOnly: false });
  });

  it('sums many presses into one chat:reactions per stream and second; a wallet past 10 a second is refused', async () => {
    const watcher = new Reader(await anonymousOn(live));
    await watcher.join(streamId);
    const eve = await reader(w.eve);
    const ferdie = await reader(w.ferdie);
    const press = (r: Reader, reaction: string) => call(r.socket, 'chat:react', { streamId, reaction });
    // Each burst is taken within its wallet's first second (the window opens with its first press) and within one
    // period of the tally (its timer starts with the first press): a second is far more than a burst takes.
    const [eveAnswers, ferdieAnswers] = await Promise.all([
      Promise.all([...Array.from({ length: 10 }, (_, i) => press(eve, i < 6 ? 'heart' : 'fire')), press(eve, 'wow')]),
      Promise.all(Array.from({ length: 10 }, (_, i) => press(ferdie, i < 3 ? 'heart' : 'clap'))),
    ]);
    expect([...eveAnswers.slice(0, 10), ...ferdieAnswers]).toEqual(Array(20).fill({ ok: true }));
    retryAfter(eveAnswers[10] as AckJson, 'reactions', 1_000);

    await vi.waitFor(() => expect(watcher.reactions).toHaveLength(1), WAIT);
    expect(watcher.reactions[0]).toMatchObject({ streamId, counts: { heart: 9, fire: 4, clap: 7 } });
    await sleep(1_500);
    expect(watcher.reactions).toHaveLength(1);
    // Quiet: the timer stops by itself.
    await vi.waitFor(() => expect(chat.reactions.ticking).toBe(false), WAIT);
    const metrics = await (await fetch(`${live.server.url}/metrics`)).text();
    expect(metrics).toMatch(/^signaling_chat_reactions_total\{reaction="heart"\} \d+$/m);
  });

  it('close() stops the reaction timer, drops what waits and refuses further requests; twice is harmless', async () => {
    const eve = await reader(w.eve);
    await vi.waitFor(
      async () => expect(await call(eve.socket, 'chat:react', { streamId, reaction: 'wow' })).toEqual({ ok: true }),
      WAIT,
    );
    expect(chat.reactions.ticking).toBe(true);
    await chat.close();
    expect(chat.reactions.ticking).toBe(false);
    await chat.close();
    expect(await eve.send(streamId, 'anyone?')).toMatchObject({ ok: false, code: 'INTERNAL' });
    await sleep(1_200);
    expect(chat.reactions.ticking).toBe(false);
  });
});
