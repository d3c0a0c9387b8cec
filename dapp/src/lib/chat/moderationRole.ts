// Whether the page moderates a stream's chat: the join answers it (`role`), and the page asks again (`chat:moderators`,
// answered to the creator and its moderators only) when one of its own messages comes badged as a moderator's, i.e.
// the creator named it after the join.
import type { ChatMessage } from '@persecond/signaling/protocol';
import { sameAccount } from './accounts.ts';

/** This page's part in the chat's moderation. */
export type ModRole = 'creator' | 'moderator';

/** The role a moderator list answered to `account` gives: on the list a moderator, else (answered at all) the creator. */
export function roleFromList(moderators: readonly string[], account: string): ModRole {
  return moderators.some((m) => sameAccount(m, account)) ? 'moderator' : 'creator';
}

/**
 * The newest of the account's own messages badged `moderator` that a page not (yet) moderating should ask about,
 * unless it asked about that one already (`askedFor`); undefined when there is nothing to ask.
 */
export function badgedToAsk(
  messages: readonly ChatMessage[],
  account: string,
  role: ModRole | undefined,
  askedFor: string,
): ChatMessage | undefined {
  if (role) return undefined;
  const badged = messages.findLast((m) => m.badges.includes('moderator') && sameAccount(m.sender, account));
  return badged && badged.id !== askedFor ? badged : undefined;
}
