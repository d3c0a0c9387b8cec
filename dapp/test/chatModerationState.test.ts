// The chat's moderation helpers: addresses compared by account, whether the page moderates, log entries as sentences.
import type { ChatMessage, ChatModAction } from '@persecond/signaling/protocol';
import { describe, expect, it } from 'vitest';
import { isAddress, sameAccount } from '../src/lib/chat/accounts.ts';
import { badgedToAsk, roleFromList } from '../src/lib/chat/moderationRole.ts';
import { modActionText } from '../src/lib/chat/modlogText.ts';

// //Alice in SS58 42 and in Polkadot's format 0; //Bob in 42.
const ALICE_42 = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const ALICE_0 = '15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5';
const BOB = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty';

const action = (a: Partial<ChatModAction>): ChatModAction => ({
  id: '1',
  streamId: 's1',
  actor: ALICE_42,
  action: 'delete',
  target: BOB,
  details: {},
  at: 1_700_000_000_000,
  ...a,
});

const message = (id: string, sender: string, badges: ChatMessage['badges']): ChatMessage => ({
  id,
  streamId: 's1',
  sender,
  displayName: null,
  text: `m${id}`,
  badges,
  sentAt: 1_700_000_000_000,
  mediaTime: null,
});

describe('chat moderation helpers', () => {
  it('compares accounts by public key, whatever the address format', () => {
    expect(sameAccount(ALICE_42, ALICE_0)).toBe(true);
    expect(sameAccount(ALICE_42, BOB)).toBe(false);
    expect(sameAccount('not an address', BOB)).toBe(false);
    expect(isAddress(BOB)).toBe(true);
    expect(isAddress(`${BOB.slice(0, -1)}x`)).toBe(false);
    expect(isAddress('0x1234')).toBe(false);
    expect(isAddress('')).toBe(false);
  });

  it('tells each logged action as a sentence with short addresses', () => {
    expect(modActionText(action({ action: 'delete', details: { messageId: '7' } }))).toBe(
      'deleted a message from 5FHneW…94ty',
    );
    expect(modActionText(action({ action: 'timeout', details: { minutes: '5', until: '1' } }))).toBe(
      'timed out 5FHneW…94ty for 5 min',
    );
    expect(modActionText(action({ action: 'ban', details: { removeFromStream: 'true', removed: '1' } }))).toBe(
      'banned 5FHneW…94ty and removed it from the stream (1 sessions ended)',
    );
    expect(modActionText(action({ action: 'ban', details: { removeFromStream: 'false', removed: '0' } }))).toBe(
      'banned 5FHneW…94ty',
    );
    expect(modActionText(action({ action: 'unban' }))).toBe('lifted the ban or timeout of 5FHneW…94ty');
    expect(modActionText(action({ action: 'moderators', target: null, details: { added: BOB, removed: '' } }))).toBe(
      'named moderators 5FHneW…94ty',
    );
    expect(
      modActionText(
        action({ action: 'settings', target: null, details: { slowModeSeconds: '30', payingOnly: 'true' } }),
      ),
    ).toBe('set slow mode to 30 s, paying viewers only on');
  });

  it('reads the role from a moderator list: on it a moderator, else the creator (whatever the address format)', () => {
    expect(roleFromList([BOB, ALICE_0], ALICE_42)).toBe('moderator');
    expect(roleFromList([BOB], ALICE_42)).toBe('creator');
    expect(roleFromList([], ALICE_42)).toBe('creator');
  });

  it('asks whether it moderates only for a new own message badged moderator, while it does not moderate', () => {
    const own = message('3', ALICE_0, ['moderator']);
    const messages = [message('1', ALICE_42, []), message('2', BOB, ['moderator']), own, message('4', BOB, [])];
    expect(badgedToAsk(messages, ALICE_42, undefined, '')).toBe(own);
    // Asked already about that message, or the join said it moderates: nothing to ask.
    expect(badgedToAsk(messages, ALICE_42, undefined, '3')).toBeUndefined();
    expect(badgedToAsk(messages, ALICE_42, 'moderator', '')).toBeUndefined();
    expect(badgedToAsk(messages, ALICE_42, 'creator', '')).toBeUndefined();
    // Another wallet's badge, or no badge of its own: nothing to ask.
    expect(badgedToAsk(messages.slice(0, 2), ALICE_42, undefined, '')).toBeUndefined();
    expect(badgedToAsk([...messages, message('5', ALICE_42, ['moderator'])], ALICE_42, undefined, '3')?.id).toBe('5');
  });
});
