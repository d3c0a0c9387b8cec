// One stream's stage as a signed-in page sees it (`stage:*`): who is on stage and what they send, the waiting requests
// (for the host and co-hosts), this wallet's role and its own request; and the actions its role allows. Its own
// socket, signed in as the page is: `stage:state` on every (re)connect, then the server's `stage:*` events.
import type {
  MediaSource as ProducerSource,
  ServerToClientEvents,
  StageMember,
  StageRequest,
  StageRole,
  StageRoleReason,
} from '@persecond/signaling/protocol';
import { sameAccount } from '../chat/accounts.ts';
import { explain } from '../errors.ts';
import type { SignalingSocket } from '../signaling/socket.ts';
import { request } from '../signaling/socket.ts';

/** Where this wallet's own request to come on stage stands (while it is a viewer). */
export type StageAsk = 'none' | 'pending' | 'rejected';

/** Where the client's connection stands. */
export type StageStatus = 'connecting' | 'ready' | 'failed' | 'closed';

/** How the client opens its signed-in socket. */
export type OpenStageSocket = () => Promise<SignalingSocket>;

/** A stream's stage, reactive for the stage panel, the moderation lists and the stage view. */
export class StageClient {
  /** Everyone on stage (the host first) and their producers, as the server last said. */
  members = $state.raw<StageMember[]>([]);
  /** Waiting requests (the host and co-hosts only). */
  requests = $state.raw<StageRequest[]>([]);
  /** This wallet's role on the stage. */
  you = $state<StageRole>('viewer');
  /** This wallet's request, while it is a viewer. */
  ask = $state<StageAsk>('none');
  /** The member speaking now (the SFU's active speaker, `stage:activeSpeaker`), for the spotlight. */
  speaker = $state<string | undefined>();
  /** Why the role last changed (approved, removed, left…), for the panel's sentence. */
  reason = $state<StageRoleReason | undefined>();
  status = $state<StageStatus>('connecting');
  /** Why the last action or the stage's reading failed, as a sentence. */
  problem = $state<string | undefined>();
  busy = $state(false);

  #socket: SignalingSocket | undefined;
  #unbind: (() => void)[] = [];
  #closed = false;

  constructor(
    readonly streamId: string,
    /** The signed-in wallet (any SS58 format). */
    readonly account: string,
    private readonly openSocket: OpenStageSocket,
  ) {}

  /** The client's socket (a guest publishes on it), once opened. */
  get socket(): SignalingSocket | undefined {
    return this.#socket;
  }

  /** Whether this wallet moderates the stage (host or co-host). */
  get moderates(): boolean {
    return this.you === 'host' || this.you === 'co-host';
  }

  /** Whether this wallet is on stage as a guest or co-host (it publishes, and is not charged for watching). */
  get onStage(): boolean {
    return this.you === 'guest' || this.you === 'co-host';
  }

  /** This wallet's own entry on stage, if it is on. */
  get me(): StageMember | undefined {
    return this.members.find((m) => sameAccount(m.wallet, this.account));
  }

  /** Whether this wallet may mute, remove (and, the host, promote or demote) `m`. */
  mayControl(m: StageMember): boolean {
    if (m.role === 'host') return false;
    return this.you === 'host' || (this.you === 'co-host' && m.role === 'guest');
  }

  /** Opens the socket and reads the stage; reads it again on every reconnect. */
  async open(): Promise<void> {
    let socket: SignalingSocket;
    try {
      socket = await this.openSocket();
    } catch (err) {
      this.status = 'failed';
      this.problem = explain(err);
      return;
    }
    if (this.#closed) {
      socket.close();
      return;
    }
    this.#socket = socket;
    this.#bind(socket);
    if (socket.connected) await this.refresh();
  }

  /** Reads the stage afresh (`stage:state`). */
  async refresh(): Promise<void> {
    const socket = this.#socket;
    if (!socket || this.#closed) return;
    try {
      const { stage } = await request(socket, 'stage:state', { streamId: this.streamId });
      if (this.#closed) return;
      this.members = stage.members;
      this.requests = stage.requests;
      this.you = stage.you;
      if (stage.you !== 'viewer') this.ask = 'none';
      this.status = 'ready';
      this.problem = undefined;
    } catch (err) {
      if (this.#closed) return;
      this.status = 'failed';
      this.problem = explain(err);
    }
  }

  /** Asks to come on stage; the host and co-hosts see the request. */
  request(): Promise<void> {
    return this.#act(async (s) => {
      const { stage } = await request(s, 'stage:request', { streamId: this.streamId });
      this.members = stage.members;
      this.you = stage.you;
      this.ask = stage.you === 'viewer' ? 'pending' : 'none';
    });
  }

  /** Withdraws this wallet's request. */
  cancel(): Promise<void> {
    return this.#act(async (s) => {
      await request(s, 'stage:cancel', { streamId: this.streamId });
      this.ask = 'none';
    });
  }

  /** Approves (the wallet comes on stage as a guest) or rejects a waiting request. */
  answer(wallet: string, approve: boolean): Promise<void> {
    return this.#act((s) => request(s, 'stage:answer', { streamId: this.streamId, wallet, approve }));
  }

  /** Steps down from the stage (a guest or co-host): back to watching, and paying for it. */
  leave(): Promise<void> {
    return this.#act((s) => request(s, 'stage:leave', { streamId: this.streamId }));
  }

  /** Takes `wallet` off the stage. */
  remove(wallet: string): Promise<void> {
    return this.#act((s) => request(s, 'stage:remove', { streamId: this.streamId, wallet }));
  }

  /** Force-mutes a source of `wallet` (its owner cannot turn it back on), or lifts that. */
  mute(wallet: string, source: ProducerSource, muted: boolean): Promise<void> {
    return this.#act((s) => request(s, 'stage:mute', { streamId: this.streamId, wallet, source, muted }));
  }

  /** Promotes a guest to co-host, or demotes a co-host to guest (the host only). */
  setRole(wallet: string, role: 'co-host' | 'guest'): Promise<void> {
    return this.#act((s) => request(s, 'stage:setRole', { streamId: this.streamId, wallet, role }));
  }

  /** Closes the socket (the server closes whatever it published); safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.status = 'closed';
    for (const off of this.#unbind.splice(0)) off();
    this.#socket?.close();
  }

  async #act(fn: (socket: SignalingSocket) => Promise<unknown>): Promise<void> {
    const socket = this.#socket;
    if (!socket || this.busy) return;
    this.busy = true;
    this.problem = undefined;
    try {
      await fn(socket);
    } catch (err) {
      this.problem = explain(err);
    } finally {
      this.busy = false;
    }
  }

  #bind(socket: SignalingSocket): void {
    const on = <E extends keyof ServerToClientEvents>(event: E, fn: ServerToClientEvents[E]): void => {
      // Socket.IO's typed `on` cannot follow a generic event name, hence the widening.
      const s = socket as unknown as { on(e: string, f: unknown): void; off(e: string, f: unknown): void };
      s.on(event, fn);
      this.#unbind.push(() => s.off(event, fn));
    };
    const mine = (p: { streamId: string }) => p.streamId === this.streamId;
    on('stage:members', (p) => {
      if (mine(p)) this.members = p.members;
    });
    on('stage:requests', (p) => {
      if (mine(p)) this.requests = p.requests;
    });
    on('stage:activeSpeaker', (p) => {
      if (mine(p)) this.speaker = p.wallet;
    });
    on('stage:role', (p) => {
      if (!mine(p)) return;
      this.you = p.role;
      this.reason = p.reason;
      this.ask = p.reason === 'rejected' ? 'rejected' : 'none';
      // A new moderator sees the requests; one who stopped moderating no longer does.
      if (p.role === 'viewer' || p.role === 'guest') this.requests = [];
      else void this.refresh();
    });
    const reconnected = () => void this.refresh();
    socket.on('connect', reconnected);
    this.#unbind.push(() => socket.off('connect', reconnected));
  }
}
