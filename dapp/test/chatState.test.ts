import { CHAT_PAGE_MAX, type ChatMessage } from '@persecond/signaling/protocol';
import { describe, expect, it } from 'vitest';
import { floatsFor, MAX_FLOATS, MAX_FLOATS_PER_EVENT } from '../src/lib/chat/floats.ts';
import { afterJoin, compareIds, mergeMessages, shortAddress } from '../src/lib/chat/messages.ts';
import { chatErrorSentence } from '../src/lib/chat/sendErrors.ts';
import { explainCode, UserFacingError } from '../src/lib/errors.ts';

const msg = (id: number, text = `m${id}`): ChatMessage => ({
  id: String(id),
  streamId: 's1',
  sender: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY',
  displayName: null,
  badges: [],
  text,
  sentAt: 1_700_000_000_000 + id,
  mediaTime: null,
});
const ids = (list: ChatMessage[]) => list.map((m) => m.id);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => msg(from + i));

describe('the chat list', () => {
  it('orders ids as numbers and keeps one message per id', () => {
    expect(compareIds('9', '10')).toBeLessThan(0);
    expect(compareIds('123456789012345678', '99')).toBeGreaterThan(0);
    const merged = mergeMessages([msg(10), msg(9)], [msg(11), msg(10, 'again'), msg(2)]);
    expect(ids(merged)).toEqual(['2', '9', '10', '11']);
    expect(merged[2]?.text).toBe('again');
  });

  it('merges chat:messages batches: the sender’s own message from its ack once, batches of two nodes in id order', () => {
    const acked = mergeMessages([msg(1)], [msg(3)]);
    const fromNodeB = mergeMessages(acked, [msg(4), msg(6)]);
    const fromNodeA = mergeMessages(fromNodeB, [msg(2), msg(3), msg(5)]);
    expect(ids(fromNodeA)).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(mergeMessages(fromNodeA, [])).toEqual(fromNodeA);
  });

  it('merges a re-join that overlaps what it held, and restarts after a gap of more than a page', () => {
    const held = range(1, 20);
    expect(ids(afterJoin(held, range(15, 30)).messages)).toEqual(ids(range(1, 30)));
    expect(afterJoin(held, range(15, 30)).gap).toBe(false);
    const full = range(200, 200 + CHAT_PAGE_MAX - 1);
    const after = afterJoin(held, full);
    expect(after.gap).toBe(true);
    expect(ids(after.messages)).toEqual(ids(full));
    // A short page that starts later missed nothing: it holds everything since.
    expect(afterJoin(held, range(21, 25)).gap).toBe(false);
  });

  it('shortens addresses', () => {
    expect(shortAddress('5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY')).toBe('5Grwva…utQY');
  });
});

describe('floating reactions', () => {
  it('stay bounded however large the counts, in proportion, each pressed one shown', () => {
    const added = floatsFor({ heart: 1_000_000, fire: 1, wow: 0 }, 0, 0, () => 0.5);
    expect(added.length).toBeLessThanOrEqual(MAX_FLOATS_PER_EVENT);
    expect(added.filter((f) => f.reaction === 'heart').length).toBeGreaterThan(1);
    expect(added.some((f) => f.reaction === 'fire')).toBe(true);
    expect(added.some((f) => f.reaction === 'wow')).toBe(false);
    expect(new Set(added.map((f) => f.key)).size).toBe(added.length);
    expect(floatsFor({ heart: 50 }, MAX_FLOATS - 2, 0)).toHaveLength(2);
    expect(floatsFor({ heart: 50 }, MAX_FLOATS, 0)).toHaveLength(0);
    expect(floatsFor({ clap: 3 }, 0, 0)).toHaveLength(3);
  });
});

describe('chat error sentences', () => {
  it('says how long to wait, asks to sign in, and uses the code sentences', () => {
    const limited = UserFacingError.fromCode('RATE_LIMITED', { retryAfterMs: '2300', reason: 'wallet' });
    expect(chatErrorSentence(limited)).toBe(`${explainCode('RATE_LIMITED')} You can send again in 3 s.`);
    const slow = UserFacingError.fromCode('RATE_LIMITED', { retryAfterMs: '15000', reason: 'slow-mode' });
    expect(chatErrorSentence(slow)).toMatch(/^Slow mode is on\. .* You can send again in 15 s\.$/);
    expect(chatErrorSentence(UserFacingError.fromCode('UNAUTHENTICATED'))).toBe('Sign in to chat.');
    expect(chatErrorSentence(UserFacingError.fromCode('CHAT_PAYING_ONLY'))).toBe(explainCode('CHAT_PAYING_ONLY'));
    const timedOut = UserFacingError.fromCode('CHAT_TIMED_OUT', { retryAfterMs: String(5 * 60_000) });
    expect(chatErrorSentence(timedOut)).toBe(`${explainCode('CHAT_TIMED_OUT')} You can send again in 5 min.`);
  });
});
