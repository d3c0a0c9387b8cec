// A chat's message list as the client keeps it: one entry per id (the server may send a message twice around a join),
// oldest first, ordered by id (the server's ids grow with time within a stream).
import { CHAT_PAGE_MAX, type ChatMessage, type ChatTipUpdate } from '@persecond/signaling/protocol';

/** Orders two message ids (decimal strings of any length) as numbers. */
export function compareIds(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

/** `list` with `incoming` added: deduplicated by id (the later copy wins), oldest first. */
export function mergeMessages(list: readonly ChatMessage[], incoming: readonly ChatMessage[]): ChatMessage[] {
  const byId = new Map<string, ChatMessage>();
  for (const m of list) byId.set(m.id, m);
  for (const m of incoming) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => compareIds(a.id, b.id));
}

/**
 * The list after a (re-)join answered `page` (the stream's newest messages): merged when it overlaps or follows what
 * the list holds; when a full page starts after the list's newest, messages were missed in between, so the list
 * restarts from the page (older ones load again on scroll).
 */
export function afterJoin(
  list: readonly ChatMessage[],
  page: readonly ChatMessage[],
): { messages: ChatMessage[]; gap: boolean } {
  const newest = list.at(-1);
  const oldestOfPage = page[0];
  const gap =
    newest !== undefined &&
    oldestOfPage !== undefined &&
    page.length >= CHAT_PAGE_MAX &&
    compareIds(oldestOfPage.id, newest.id) > 0 &&
    !page.some((m) => m.id === newest.id);
  return { messages: gap ? [...page] : mergeMessages(list, page), gap };
}

/** `list` without the message `id` (removed by moderation). */
export function withoutMessage(list: readonly ChatMessage[], id: string): ChatMessage[] {
  return list.filter((m) => m.id !== id);
}

/** `list` after a tip's progress: the message's tip as the chain says; back to `unsigned` (its block lost a fork) hides it. */
export function withTipUpdate(list: readonly ChatMessage[], u: ChatTipUpdate): ChatMessage[] {
  if (u.status === 'unsigned') return withoutMessage(list, u.messageId);
  const tip = { asset: u.asset, amount: u.amount, status: u.status };
  return list.map((m) => (m.id === u.messageId ? { ...m, tip } : m));
}

/** The short form of an address shown beside a message. */
export function shortAddress(address: string): string {
  return address.length > 12 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}
