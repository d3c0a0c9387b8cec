// The stage's part of the signaling wire contract (roles, guest requests, host controls), spread into protocol.ts.
import { z } from 'zod';

/** Who someone is on a stream's stage: its creator, a co-host (moderates, publishes), an approved guest, or a viewer. */
export const STAGE_ROLES = ['host', 'co-host', 'guest', 'viewer'] as const;
export type StageRole = (typeof STAGE_ROLES)[number];

/** What a producer carries (`rtc:produce` `source`; default: camera for video, microphone for audio). */
export const MEDIA_SOURCES = ['camera', 'microphone', 'screen'] as const;
export type MediaSource = (typeof MEDIA_SOURCES)[number];

/** Guests (and co-hosts) on one stage at once besides the host; more approvals are refused LIMIT_REACHED. */
export const STAGE_MEMBERS_MAX = 8;
/** Requests waiting on one stage at once; more are refused LIMIT_REACHED. */
export const STAGE_REQUESTS_MAX = 50;

const StageStreamId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'a stream id');
const StageWallet = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{46,48}$/, 'an SS58 address');

/** Request payloads of the stage (each answered by an ack). */
export const STAGE_SCHEMAS = {
  /** The stage as the asking wallet may see it (requests only for the host and co-hosts); `stage:*` events follow. */
  'stage:state': z.object({ streamId: StageStreamId }),
  /** A viewer asks to come on stage; the host and co-hosts see it in `stage:requests`. */
  'stage:request': z.object({ streamId: StageStreamId }),
  /** The asker withdraws its request. */
  'stage:cancel': z.object({ streamId: StageStreamId }),
  /** The host or a co-host approves (the wallet becomes a guest) or rejects a request. */
  'stage:answer': z.object({ streamId: StageStreamId, wallet: StageWallet, approve: z.boolean() }),
  /** A guest or co-host steps down to viewer (its media closes; it pays for watching again). */
  'stage:leave': z.object({ streamId: StageStreamId }),
  /** The host (anyone on stage) or a co-host (guests only) takes a wallet off the stage. */
  'stage:remove': z.object({ streamId: StageStreamId, wallet: StageWallet }),
  /** The host promotes a guest to co-host or demotes a co-host to guest. */
  'stage:setRole': z.object({ streamId: StageStreamId, wallet: StageWallet, role: z.enum(['co-host', 'guest']) }),
  /**
   * The host (anyone on stage) or a co-host (guests only) force-mutes a source of a wallet on stage, or lifts it:
   * muted producers pause and their owner cannot resume them until lifted (FORCE_MUTED); lifting resumes nothing.
   */
  'stage:mute': z.object({
    streamId: StageStreamId,
    wallet: StageWallet,
    source: z.enum(MEDIA_SOURCES),
    muted: z.boolean(),
  }),
} as const;

/** A producer of someone on stage. */
export interface StageProducer {
  producerId: string;
  kind: 'audio' | 'video';
  source: MediaSource;
  paused: boolean;
}

/** Someone on stage (the host included) and what it sends. */
export interface StageMember {
  wallet: string;
  role: Exclude<StageRole, 'viewer'>;
  producers: StageProducer[];
  /** Sources the host or a co-host muted (the member cannot resume them). */
  forceMuted: MediaSource[];
}

/** A request to come on stage (`at`: server ms). */
export interface StageRequest {
  wallet: string;
  at: number;
}

/** A stage as one wallet sees it. */
export interface StageView {
  streamId: string;
  members: StageMember[];
  /** Waiting requests: for the host and co-hosts only (empty for everyone else). */
  requests: StageRequest[];
  /** The asking wallet's role. */
  you: StageRole;
}

/** Why a wallet's role changed (`stage:role`). */
export type StageRoleReason = 'approved' | 'rejected' | 'removed' | 'left' | 'promoted' | 'demoted' | 'ended';

/** Ack payloads of the stage's requests. */
export interface StageAckPayloads {
  'stage:state': { stage: StageView };
  'stage:request': { stage: StageView };
  'stage:cancel': Record<never, never>;
  'stage:answer': Record<never, never>;
  'stage:leave': Record<never, never>;
  'stage:remove': Record<never, never>;
  'stage:setRole': Record<never, never>;
  'stage:mute': Record<never, never>;
}

/** Server → client events of the stage. */
export interface StageServerEvents {
  /**
   * Who is on a stage and what they send, on every change: to the stream's viewers, its host and co-hosts, and the
   * sockets that asked `stage:state`.
   */
  'stage:members': (p: { streamId: string; members: StageMember[] }) => void;
  /** The waiting requests, to the host and co-hosts, on every change. */
  'stage:requests': (p: { streamId: string; requests: StageRequest[] }) => void;
  /** To a wallet whose role on a stage changed (or whose request was rejected: `role` stays viewer). */
  'stage:role': (p: { streamId: string; role: StageRole; reason: StageRoleReason }) => void;
  /**
   * Someone else on stage became the dominant speaker (the SFU's ActiveSpeakerObserver), to the stream's viewers and
   * the sockets that asked `stage:state`: `participantId` is the room's (`host` for the creator), `wallet` the
   * speaker's address.
   */
  'stage:activeSpeaker': (p: { streamId: string; participantId: string; wallet: string }) => void;
}
