// A tip's progress on the chat list: the message's tip as the chain says; an `unsigned` update (its block lost a fork)
// hides the message until it comes again.
import type { ChatMessage } from '@persecond/signaling/protocol';
import { describe, expect, it } from 'vitest';
import { withTipUpdate } from '../src/lib/chat/messages.ts';

const BOB = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty';

const msg = (id: number, tip?: ChatMessage['tip']): ChatMessage => ({
  id: String(id),
  streamId: 's1',
  sender: BOB,
  displayName: null,
  badges: [],
  text: `m${id}`,
  sentAt: 1_700_000_000_000 + id,
  mediaTime: null,
  ...(tip ? { tip } : {}),
});

describe('tips on the chat list', () => {
  it('applies a tip’s progress to its message, and hides it when its block lost a fork', () => {
    const list = [msg(1), msg(2, { asset: 'native', amount: '5', status: 'pending' }), msg(3)];
    const update = { streamId: 's1', messageId: '2', asset: 'native' as const, amount: '5' };
    const final = withTipUpdate(list, { ...update, status: 'final' });
    expect(final[1]?.tip).toEqual({ asset: 'native', amount: '5', status: 'final' });
    expect(final[0]).toBe(list[0]);
    const lost = withTipUpdate(list, { ...update, status: 'unsigned' });
    expect(lost.map((m) => m.id)).toEqual(['1', '3']);
  });
});
