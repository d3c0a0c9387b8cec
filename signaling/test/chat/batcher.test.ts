// The chat's batched fan-out and its memory of hot-path state, on fakes: ChatBatcher (coalescing, order, retries by
// client id, the bounded queue), RecentPosts and KeyedCache (invalidation, a load an invalidation overtook).
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChatBatcher, type ChatBatcherOptions, type FlushTiming } from '../../src/chat/ChatBatcher.ts';
import type { ChatStore, NewChatMessage } from '../../src/chat/ChatStore.ts';
import { KeyedCache } from '../../src/chat/KeyedCache.ts';
import { chatMetrics, observeFlush } from '../../src/chat/metrics.ts';
import { RecentPosts } from '../../src/chat/RecentPosts.ts';
import type { ChatMessage, ChatMessageBatch } from '../../src/protocol.ts';
import type { SignalingIo } from '../../src/RequestRouter.ts';

const log = pino({ level: 'silent' });

/** An io that records what is emitted to which room. */
function fakeIo() {
  const sent: { room: string; event: string; batch: ChatMessageBatch }[] = [];
  const io = {
    to: (room: string) => ({
      emit: (event: string, batch: ChatMessageBatch) => sent.push({ room, event, batch }),
    }),
  } as unknown as SignalingIo;
  return { io, sent };
}

/** A store giving ids in insert order, one per (stream, sender, clientId); `inserts` records each multi-row insert. */
function fakeStore(delayMs = 5) {
  let nextId = 1;
  const byClientId = new Map<string, ChatMessage>();
  const inserts: number[] = [];
  let release: (() => void) | undefined;
  let hold: Promise<void> | undefined;
  const store = {
    async addMany(messages: readonly NewChatMessage[]) {
      inserts.push(messages.length);
      await (hold ?? new Promise((r) => setTimeout(r, delayMs)));
      return messages.map((m) => {
        const key = `${m.streamId}/${m.sender}/${m.clientId}`;
        const stored = m.clientId ? byClientId.get(key) : undefined;
        if (stored) return { message: stored, fresh: false };
        const { clientId: _c, ...rest } = m;
        const message: ChatMessage = { ...rest, id: String(nextId++) };
        if (m.clientId) byClientId.set(key, message);
        return { message, fresh: true };
      });
    },
  };
  return {
    store: store as unknown as ChatStore,
    inserts,
    /** Holds every insert until `open()`. */
    block() {
      hold = new Promise((r) => {
        release = r;
      });
    },
    open() {
      release?.();
      hold = undefined;
    },
  };
}

const message = (streamId: string, sender: string, text: string, clientId: string | null = null): NewChatMessage => ({
  streamId,
  sender,
  displayName: null,
  badges: [],
  text,
  sentAt: Date.now(),
  mediaTime: null,
  clientId,
});

const options = (o: Partial<ChatBatcherOptions> = {}): ChatBatcherOptions => ({
  windowMs: 30,
  maxQueued: 100,
  maxBatch: 50,
  slices: 1,
  ...o,
});

describe('ChatBatcher', () => {
  let batcher: ChatBatcher | undefined;
  afterEach(() => batcher?.close());

  it('sends a quiet room’s message at once, then coalesces a busy room’s messages into one batch per window', async () => {
    const { io, sent } = fakeIo();
    const s = fakeStore();
    // A window long enough that "at once" and "a window later" cannot be confused on a loaded machine (the final
    // fresh-clone CI at b552a77 took 221 ms for "at once" at load ~9, against a 200 ms bound of a 400 ms window).
    const WINDOW_MS = 2_000;
    batcher = new ChatBatcher(io, s.store, log, options({ windowMs: WINDOW_MS }));
    const t0 = performance.now();
    const first = await batcher.post(message('s1', 'alice', 'one'));
    // At once, not a window later.
    expect(performance.now() - t0).toBeLessThan(WINDOW_MS);
    expect(first.fresh).toBe(true);
    const rest = await Promise.all(['two', 'three', 'four'].map((t) => batcher?.post(message('s1', 'bob', t))));
    expect(rest.map((p) => p?.message.text)).toEqual(['two', 'three', 'four']);
    expect(s.inserts).toEqual([1, 3]);
    expect(sent.map((e) => [e.room, e.event, e.batch.messages.map((m) => m.text)])).toEqual([
      ['chat-slice:s1:0', 'chat:messages', ['one']],
      ['chat-slice:s1:0', 'chat:messages', ['two', 'three', 'four']],
    ]);
  });

  it('keeps each room’s order (ids ascending) and sends a room only its own messages', async () => {
    const { io, sent } = fakeIo();
    const s = fakeStore();
    batcher = new ChatBatcher(io, s.store, log, options({ windowMs: 10 }));
    const posts = [];
    for (let i = 0; i < 40; i++) posts.push(batcher.post(message(i % 2 ? 's2' : 's1', `w${i}`, `m${i}`)));
    await Promise.all(posts);
    for (const room of ['chat-slice:s1:0', 'chat-slice:s2:0']) {
      const ids = sent.filter((e) => e.room === room).flatMap((e) => e.batch.messages.map((m) => Number(m.id)));
      expect(ids).toHaveLength(20);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      for (const e of sent.filter((x) => x.room === room)) {
        expect(room).toBe(`chat-slice:${e.batch.streamId}:0`);
        expect(e.batch.messages.every((m) => m.streamId === e.batch.streamId)).toBe(true);
      }
    }
  });

  it('sends a batch to each part of the room in turn, a turn of the event loop apart, before answering', async () => {
    const { io, sent } = fakeIo();
    const s = fakeStore();
    batcher = new ChatBatcher(io, s.store, log, options({ slices: 4 }));
    expect([1, 2, 3, 4, 5].map(() => batcher?.nextSlice())).toEqual([1, 2, 3, 0, 1]);
    // A timer set as the flush starts runs between two parts: the flush yields.
    let between = -1;
    setTimeout(() => {
      between = sent.length;
    }, 0);
    const posted = await batcher.post(message('s1', 'alice', 'hi'));
    expect(between).toBeGreaterThanOrEqual(0);
    expect(sent.map((e) => e.room)).toEqual([0, 1, 2, 3].map((k) => `chat-slice:s1:${k}`));
    expect(new Set(sent.map((e) => e.batch)).size).toBe(1);
    expect(sent[0]?.batch.messages).toEqual([posted.message]);
  });

  it('reports where each flush’s time went: each sent message’s wait, the insert and the fan-out', async () => {
    const { io } = fakeIo();
    const s = fakeStore(20);
    const flushes: { count: number; timing: FlushTiming }[] = [];
    const WINDOW_MS = 200;
    batcher = new ChatBatcher(io, s.store, log, options({ windowMs: WINDOW_MS, slices: 2 }), (count, timing) =>
      flushes.push({ count, timing }),
    );
    const t1 = performance.now();
    await batcher.post(message('s1', 'alice', 'one', 'c1'));
    const t2 = performance.now();
    const second = await Promise.all([
      batcher.post(message('s1', 'bob', 'two')),
      batcher.post(message('s1', 'alice', 'one again', 'c1')),
    ]);
    const done = performance.now();
    expect(second.map((p) => p.fresh)).toEqual([true, false]);
    expect(flushes.map((f) => [f.count, f.timing.waitMs.length])).toEqual([
      [1, 1],
      [1, 1],
    ]);
    const [first, next] = flushes.map((f) => f.timing) as [FlushTiming, FlushTiming];
    // The insert takes the fake store's 20 ms; both parts are sent after it, a loop turn apart.
    for (const t of [first, next]) {
      expect(t.storeMs).toBeGreaterThanOrEqual(15);
      expect(t.sendMs).toBeGreaterThanOrEqual(0);
    }
    expect(first.waitMs[0]! + first.storeMs + first.sendMs).toBeLessThanOrEqual(t2 - t1);
    // The second flush starts a window after the first, which started after t1: its message waited that long.
    expect(next.waitMs[0]).toBeGreaterThanOrEqual(t1 + WINDOW_MS - t2 - 1);
    expect(next.waitMs[0]! + next.storeMs + next.sendMs).toBeLessThanOrEqual(done - t2);
  });

  it('answers a retry with the stored message and sends it once', async () => {
    const { io, sent } = fakeIo();
    const s = fakeStore();
    batcher = new ChatBatcher(io, s.store, log, options());
    const a = await batcher.post(message('s1', 'alice', 'hello', 'c1'));
    const again = await batcher.post(message('s1', 'alice', 'hello', 'c1'));
    expect(again).toEqual({ message: a.message, fresh: false });
    expect(sent.flatMap((e) => e.batch.messages.map((m) => m.id))).toEqual([a.message.id]);
  });

  it('refuses RATE_LIMITED (overload) past the queue bound, and takes posts again once it drained', async () => {
    const { io } = fakeIo();
    const s = fakeStore();
    batcher = new ChatBatcher(io, s.store, log, options({ maxQueued: 5 }));
    s.block();
    const waiting = Array.from({ length: 5 }, (_, i) => batcher?.post(message('s1', `w${i}`, `m${i}`)));
    expect(batcher.queued).toBe(5);
    await expect(batcher.post(message('s1', 'late', 'too many'))).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      details: { reason: 'overload', retryAfterMs: expect.any(String) },
    });
    s.open();
    await Promise.all(waiting);
    expect(batcher.queued).toBe(0);
    await expect(batcher.post(message('s1', 'late', 'now'))).resolves.toMatchObject({ fresh: true });
  });

  it('refuses what waits when closed, and everything after', async () => {
    const { io } = fakeIo();
    const s = fakeStore();
    batcher = new ChatBatcher(io, s.store, log, options());
    s.block();
    const inFlight = batcher.post(message('s1', 'a', 'stored'));
    await vi.waitFor(() => expect(s.inserts).toEqual([1]));
    const waiting = batcher.post(message('s1', 'b', 'waits'));
    batcher.close();
    batcher.close();
    await expect(waiting).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(batcher.post(message('s1', 'c', 'after'))).rejects.toMatchObject({ code: 'INTERNAL' });
    s.open();
    await expect(inFlight).resolves.toMatchObject({ fresh: true });
  });
});

describe('chat batch metrics', () => {
  it('count every message sent once in the wait histogram and every flush in the store and send ones', async () => {
    const registry = new Registry();
    const metrics = chatMetrics(registry);
    const { io } = fakeIo();
    const s = fakeStore(10);
    const batcher = new ChatBatcher(io, s.store, log, options({ windowMs: 1_000, slices: 2 }), (n, t) =>
      observeFlush(metrics, n, t),
    );
    try {
      await batcher.post(message('s1', 'alice', 'one', 'c1'));
      await Promise.all([
        batcher.post(message('s1', 'bob', 'two')),
        batcher.post(message('s1', 'carol', 'three')),
        // A retry answered from the stored row: not sent again, not counted.
        batcher.post(message('s1', 'alice', 'one', 'c1')),
      ]);
    } finally {
      batcher.close();
    }
    const text = await registry.metrics();
    const value = (line: string) => Number(new RegExp(`^${line} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('signaling_chat_messages_total')).toBe(3);
    expect(value('signaling_chat_batch_wait_seconds_count')).toBe(3);
    expect(value('signaling_chat_batch_store_seconds_count')).toBe(2);
    expect(value('signaling_chat_batch_send_seconds_count')).toBe(2);
    // Seconds, not ms: two inserts of the fake store's 10 ms.
    expect(value('signaling_chat_batch_store_seconds_sum')).toBeGreaterThanOrEqual(0.015);
    expect(value('signaling_chat_batch_store_seconds_sum')).toBeLessThan(5);
    // The two coalesced messages waited most of the 1 s window (above the 0.25 s bucket); the first went at once.
    expect(value('signaling_chat_batch_wait_seconds_bucket\\{le="0.25"\\}')).toBe(1);
  });
});

describe('RecentPosts', () => {
  it('answers a pending post by client id, forgets a failed one, and keeps at most `max`', async () => {
    const recent = new RecentPosts(2);
    const ok = Promise.resolve({ message: { id: '1' } as ChatMessage, fresh: true });
    recent.set('s', 'alice', 'c1', ok);
    expect(recent.get('s', 'alice', 'c1')).toBe(ok);
    expect(recent.get('s', 'bob', 'c1')).toBeUndefined();
    const failed = Promise.reject(new Error('no'));
    recent.set('s', 'alice', 'c2', failed);
    await failed.catch(() => undefined);
    await Promise.resolve();
    expect(recent.get('s', 'alice', 'c2')).toBeUndefined();
    recent.set('s', 'alice', 'c3', ok);
    recent.set('s', 'alice', 'c4', ok);
    expect(recent.size).toBe(2);
    expect(recent.get('s', 'alice', 'c1')).toBeUndefined();
  });
});

describe('KeyedCache', () => {
  it('loads a key once, again after an invalidation or its ttl, and never keeps a load an invalidation overtook', async () => {
    let now = 0;
    let version = 0;
    const gate: { open?: () => void } = {};
    const load = vi.fn(async (key: string) => {
      const v = `${key}@${version}`;
      if (gate.open === undefined && key === 'slow') await new Promise<void>((r) => (gate.open = r));
      return v;
    });
    const cache = new KeyedCache(load, 1_000, 10, () => now);
    expect(await cache.get('a')).toBe('a@0');
    expect(await cache.get('a')).toBe('a@0');
    expect(load).toHaveBeenCalledTimes(1);
    version = 1;
    cache.invalidate('a');
    expect(await cache.get('a')).toBe('a@1');
    version = 2;
    now = 1_000;
    expect(await cache.get('a')).toBe('a@2');
    expect(load).toHaveBeenCalledTimes(3);

    // A load under way when another node's write invalidates: its callers get it, the next get loads again.
    version = 3;
    const stale = cache.get('slow');
    cache.invalidate('slow');
    version = 4;
    gate.open?.();
    expect(await stale).toBe('slow@3');
    expect(await cache.get('slow')).toBe('slow@4');
  });

  it('does not keep a failed load', async () => {
    let fail = true;
    const cache = new KeyedCache(async () => {
      if (fail) throw new Error('database down');
      return 1;
    }, 60_000);
    await expect(cache.get('k')).rejects.toThrow('database down');
    fail = false;
    expect(await cache.get('k')).toBe(1);
  });
});
