// What the participant lists say about each member on stage: its microphone, camera and screen, live from
// `stage:members`, and short names for wallets.
import type { MediaSource as ProducerSource, StageMember, StageRoleReason } from '@persecond/signaling/protocol';

/** One source of a member: sending, turned off by the member, held muted by the host, or not sent at all. */
export type SourceState = 'on' | 'off' | 'muted-by-host' | 'none';

/** The state of `source` for `m`. */
export function sourceState(m: StageMember, source: ProducerSource): SourceState {
  if (m.forceMuted.includes(source)) return 'muted-by-host';
  const producers = m.producers.filter((p) => p.source === source);
  if (producers.length === 0) return 'none';
  return producers.some((p) => !p.paused) ? 'on' : 'off';
}

/** A short form of an address: its first and last characters. */
export function shortWallet(wallet: string): string {
  return wallet.length > 12 ? `${wallet.slice(0, 6)}…${wallet.slice(-4)}` : wallet;
}

/** How a role reads in the lists. */
export function roleName(role: StageMember['role']): string {
  return role === 'host' ? 'Host' : role === 'co-host' ? 'Co-host' : 'Guest';
}

/** How a source's state reads in the lists. */
export function sourceText(state: SourceState, source: ProducerSource): string {
  const name = source === 'microphone' ? 'Mic' : source === 'camera' ? 'Camera' : 'Screen';
  if (state === 'muted-by-host') return `${name} muted by the host`;
  if (state === 'none') return `No ${name.toLowerCase()}`;
  return `${name} ${state}`;
}

/** The sentence for this wallet's last role change, as the stage panel tells it. */
export function reasonText(reason: StageRoleReason | undefined): string | undefined {
  switch (reason) {
    case 'approved':
      return 'The host let you on stage.';
    case 'rejected':
      return 'The host did not take your request this time.';
    case 'removed':
      return 'The host took you off the stage.';
    case 'left':
      return 'You left the stage.';
    case 'promoted':
      return 'The host made you a co-host: you can answer requests and mute or remove guests.';
    case 'demoted':
      return 'The host made you a guest again.';
    case 'ended':
      return 'The stage closed.';
    default:
      return undefined;
  }
}
