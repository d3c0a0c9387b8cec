// Floating emoji for the reaction counts the server sends each second: a bounded number on screen however large the
// counts (a busy stream's thousand hearts show as a handful, in proportion).
import type { ChatReaction, ChatReactionCounts } from '@persecond/signaling/protocol';

/** The emoji shown for each reaction. */
export const REACTION_EMOJI: Record<ChatReaction, string> = {
  heart: '❤️',
  fire: '🔥',
  laugh: '😂',
  clap: '👏',
  wow: '😮',
};

/** Most floating emoji on screen at once. */
export const MAX_FLOATS = 24;
/** Most floating emoji one `chat:reactions` event adds. */
export const MAX_FLOATS_PER_EVENT = 8;
/** How long one floats (ms), as the CSS animation runs. */
export const FLOAT_MS = 2_500;

/** One floating emoji: `lane` is its horizontal position (0..1), `key` unique per float. */
export interface Float {
  key: number;
  reaction: ChatReaction;
  lane: number;
}

/**
 * The floats one event adds when `onScreen` float already: at most MAX_FLOATS_PER_EVENT and the room left under
 * MAX_FLOATS (never more than the presses), shared among the reactions in proportion to their counts (each pressed
 * reaction gets one when room allows). `nextKey` numbers them; `random` places them.
 */
export function floatsFor(
  counts: ChatReactionCounts['counts'],
  onScreen: number,
  nextKey: number,
  random: () => number = Math.random,
): Float[] {
  const pressed = (Object.entries(counts) as [ChatReaction, number | undefined][]).filter(
    (e): e is [ChatReaction, number] => typeof e[1] === 'number' && e[1] > 0,
  );
  const total = pressed.reduce((s, [, n]) => s + n, 0);
  const budget = Math.max(0, Math.min(MAX_FLOATS_PER_EVENT, MAX_FLOATS - onScreen, total));
  // One each for the most pressed that fit, the rest of the budget in proportion (leftovers to the most pressed).
  const shown = pressed.sort((a, b) => b[1] - a[1]).slice(0, budget);
  const shownTotal = shown.reduce((s, [, n]) => s + n, 0);
  const spare = budget - shown.length;
  const shares = shown.map(([, n]) => 1 + Math.floor((spare * n) / shownTotal));
  if (shares.length > 0) shares[0] = (shares[0] ?? 0) + budget - shares.reduce((s, n) => s + n, 0);
  const out: Float[] = [];
  shown.forEach(([reaction], i) => {
    for (let k = 0; k < (shares[i] ?? 0); k++) out.push({ key: nextKey + out.length, reaction, lane: random() });
  });
  return out;
}
