// One moderation-log entry as a sentence ("Bob… timed out 5Fhk…ab12 for 5 min"), from its action and details.
import type { ChatModAction } from '@persecond/signaling/protocol';
import { shortAddress } from './messages.ts';

/** What the entry's actor did, without the actor. */
export function modActionText(a: ChatModAction): string {
  const target = a.target ? shortAddress(a.target) : 'someone';
  const d = a.details;
  switch (a.action) {
    case 'delete':
      return `deleted a message from ${target}`;
    case 'timeout':
      return `timed out ${target} for ${d.minutes ?? '?'} min`;
    case 'ban':
      return d.removeFromStream === 'true'
        ? `banned ${target} and removed it from the stream (${d.removed ?? '0'} sessions ended)`
        : `banned ${target}`;
    case 'unban':
      return `lifted the ban or timeout of ${target}`;
    case 'moderators':
      return [list('named moderators', d.added), list('removed moderators', d.removed)].filter(Boolean).join('; ');
    case 'settings':
      return `set slow mode to ${d.slowModeSeconds ?? '0'} s, paying viewers only ${d.payingOnly === 'true' ? 'on' : 'off'}`;
  }
}

function list(what: string, csv: string | undefined): string {
  const wallets = (csv ?? '').split(',').filter(Boolean);
  return wallets.length > 0 ? `${what} ${wallets.map(shortAddress).join(', ')}` : '';
}
