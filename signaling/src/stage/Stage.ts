import { EventEmitter } from 'node:events';
import { SignalingError } from '../errors.ts';
import {
  type MediaSource,
  STAGE_MEMBERS_MAX,
  STAGE_REQUESTS_MAX,
  type StageRequest,
  type StageRole,
  type StageRoleReason,
} from './wire.ts';

/** A role that is on stage. */
export type OnStageRole = Exclude<StageRole, 'viewer'>;

/** Someone on a stage, without its media (the room holds that). */
export interface StageEntry {
  wallet: string;
  role: OnStageRole;
  forceMuted: MediaSource[];
}

export type StageEvents = {
  /** Who is on stage changed (a role, a force-mute). */
  members: [];
  /** The waiting requests changed. */
  requests: [];
  /** A wallet's role changed, or its request was rejected. */
  role: [{ wallet: string; role: StageRole; reason: StageRoleReason }];
  /** The stage closed (its stream ended here, or the node shuts down). */
  '@close': [];
};

interface Member {
  role: 'co-host' | 'guest';
  forceMuted: Set<MediaSource>;
}

/**
 * The stage of one live stream: its host (the creator), who else is on stage (co-hosts and guests) and the requests
 * waiting, with the rules of who may do what. Wallets are addresses in the protocol's format. Every refusal is a
 * SignalingError with a stable code. `close()` (idempotent) drops everyone and emits `@close` to its owner.
 */
export class Stage extends EventEmitter<StageEvents> {
  readonly streamId: string;
  readonly host: string;
  readonly #members = new Map<string, Member>();
  readonly #requests = new Map<string, number>();
  #closed = false;

  constructor(streamId: string, host: string) {
    super();
    this.streamId = streamId;
    this.host = host;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A wallet's role on this stage. */
  roleOf(wallet: string): StageRole {
    if (wallet === this.host) return 'host';
    return this.#members.get(wallet)?.role ?? 'viewer';
  }

  /** Whether a wallet's role may publish media (host, co-host, guest). */
  mayPublish(wallet: string): boolean {
    return !this.#closed && this.roleOf(wallet) !== 'viewer';
  }

  /** Whether a wallet is on stage as a co-host or guest (not charged for watching meanwhile). */
  isGuestOrCoHost(wallet: string): boolean {
    return !this.#closed && this.#members.has(wallet);
  }

  /** Whether the host or a co-host muted this source of the wallet. */
  isForceMuted(wallet: string, source: MediaSource): boolean {
    return this.#members.get(wallet)?.forceMuted.has(source) === true;
  }

  /** Everyone on stage, the host first. */
  entries(): StageEntry[] {
    return [
      { wallet: this.host, role: 'host', forceMuted: [] },
      ...[...this.#members].map(([wallet, m]) => ({ wallet, role: m.role, forceMuted: [...m.forceMuted] })),
    ];
  }

  /** The waiting requests, oldest first. */
  requests(): StageRequest[] {
    return [...this.#requests].map(([wallet, at]) => ({ wallet, at }));
  }

  /** Whether the wallet moderates the stage (host or co-host). */
  moderates(wallet: string): boolean {
    const role = this.roleOf(wallet);
    return role === 'host' || role === 'co-host';
  }

  /** A viewer asks to come on stage (asking again changes nothing). */
  request(wallet: string, now: number = Date.now()): void {
    this.#assertOpen();
    if (this.roleOf(wallet) !== 'viewer') throw new SignalingError('BAD_REQUEST', 'you are on this stage already');
    if (this.#requests.has(wallet)) return;
    if (this.#requests.size >= STAGE_REQUESTS_MAX) {
      throw new SignalingError('LIMIT_REACHED', `a stage has at most ${STAGE_REQUESTS_MAX} waiting requests`, {
        limit: 'stage-requests',
        max: String(STAGE_REQUESTS_MAX),
      });
    }
    this.#requests.set(wallet, now);
    this.emit('requests');
  }

  /** The asker withdraws its request (none: nothing happens). */
  cancel(wallet: string): void {
    if (this.#requests.delete(wallet)) this.emit('requests');
  }

  /** The host or a co-host approves (the asker becomes a guest) or rejects a waiting request. */
  answer(actor: string, wallet: string, approve: boolean): void {
    this.#assertOpen();
    this.#assertModerator(actor);
    if (!this.#requests.has(wallet)) {
      throw new SignalingError('STAGE_REQUEST_NOT_FOUND', 'that wallet has no waiting request', { wallet });
    }
    if (approve && this.#members.size >= STAGE_MEMBERS_MAX) {
      throw new SignalingError('LIMIT_REACHED', `a stage has at most ${STAGE_MEMBERS_MAX} guests and co-hosts`, {
        limit: 'stage-members',
        max: String(STAGE_MEMBERS_MAX),
      });
    }
    this.#requests.delete(wallet);
    this.emit('requests');
    if (!approve) {
      this.emit('role', { wallet, role: 'viewer', reason: 'rejected' });
      return;
    }
    this.#members.set(wallet, { role: 'guest', forceMuted: new Set() });
    this.emit('role', { wallet, role: 'guest', reason: 'approved' });
    this.emit('members');
  }

  /** A guest or co-host steps down to viewer. */
  leave(wallet: string): void {
    this.#assertOpen();
    this.#memberOf(wallet);
    this.#drop(wallet, 'left');
  }

  /** The host (anyone on stage) or a co-host (guests only) takes a wallet off the stage. */
  remove(actor: string, wallet: string): void {
    this.#assertOpen();
    this.#assertMayControl(actor, wallet);
    this.#drop(wallet, 'removed');
  }

  /** The host promotes a guest to co-host or demotes a co-host to guest (the same role changes nothing). */
  setRole(actor: string, wallet: string, role: 'co-host' | 'guest'): void {
    this.#assertOpen();
    if (actor !== this.host) throw new SignalingError('NOT_CREATOR', 'only the host can promote or demote');
    const member = this.#memberOf(wallet);
    if (member.role === role) return;
    member.role = role;
    this.emit('role', { wallet, role, reason: role === 'co-host' ? 'promoted' : 'demoted' });
    this.emit('members');
  }

  /** The host (anyone on stage) or a co-host (guests only) force-mutes a source of a wallet, or lifts it. */
  mute(actor: string, wallet: string, source: MediaSource, muted: boolean): void {
    this.#assertOpen();
    const member = this.#assertMayControl(actor, wallet);
    if (member.forceMuted.has(source) === muted) return;
    if (muted) member.forceMuted.add(source);
    else member.forceMuted.delete(source);
    this.emit('members');
  }

  /** Drops everyone and the requests (idempotent) and tells the owner with `@close`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const wallets = [...this.#members.keys()];
    this.#members.clear();
    this.#requests.clear();
    for (const wallet of wallets) this.emit('role', { wallet, role: 'viewer', reason: 'ended' });
    this.emit('@close');
    this.removeAllListeners();
  }

  #drop(wallet: string, reason: StageRoleReason): void {
    this.#members.delete(wallet);
    this.emit('role', { wallet, role: 'viewer', reason });
    this.emit('members');
  }

  #memberOf(wallet: string): Member {
    const member = this.#members.get(wallet);
    if (!member)
      throw new SignalingError('NOT_ON_STAGE', 'that wallet is not a guest or co-host on this stage', { wallet });
    return member;
  }

  #assertModerator(actor: string): void {
    if (!this.moderates(actor)) {
      throw new SignalingError('NOT_STAGE_HOST', 'only the host or a co-host of this stage can do that');
    }
  }

  /** The member `actor` may act on: the host on anyone on stage, a co-host on guests only. */
  #assertMayControl(actor: string, wallet: string): Member {
    this.#assertModerator(actor);
    if (wallet === this.host) throw new SignalingError('NOT_CREATOR', 'only the host controls the host');
    const member = this.#memberOf(wallet);
    if (actor !== this.host && member.role === 'co-host') {
      throw new SignalingError('NOT_CREATOR', 'only the host can do that to a co-host');
    }
    return member;
  }

  #assertOpen(): void {
    if (this.#closed) throw new SignalingError('STREAM_NOT_LIVE', `the stage of stream ${this.streamId} has closed`);
  }
}
