// The signaling wire contract, shared by the server and the dapp: typed Socket.IO event maps and a zod schema per
// payload. Every client request carries an ack: `{ ok: true, ... }` or `{ ok: false, code, message }`; the one
// exception is the per-second voucher (`tick:ack`), which may go without one (see NOTIFICATIONS).
import type { PaymentRules, StreamPaymentTerms } from '@persecond/contracts-client/browser';
import { z } from 'zod';
import {
  CHAT_MEDIA_TIME_MAX,
  CHAT_MODERATORS_MAX,
  CHAT_MODLOG_PAGE_MAX,
  CHAT_PAGE_MAX,
  CHAT_REACTIONS,
  CHAT_SLOW_MODE_MAX_SECONDS,
  CHAT_TIMEOUT_MINUTES,
  type ChatJoinRole,
  type ChatMessage,
  type ChatMessageBatch,
  ChatMessageId,
  type ChatModAction,
  type ChatReaction,
  type ChatReactionCounts,
  type ChatSettings,
  ChatText,
  type ChatTipUpdate,
} from './chat/wire.ts';
import { MEDIA_SOURCES, STAGE_SCHEMAS, type StageAckPayloads, type StageServerEvents } from './stage/wire.ts';

export * from './chat/wire.ts';
export * from './stage/wire.ts';

/** Stable error codes; never renamed (clients branch on them). */
export const ERROR_CODES = [
  'BAD_REQUEST',
  'UNAUTHENTICATED',
  'NONCE_INVALID',
  'SIGNATURE_INVALID',
  'STREAM_NOT_FOUND',
  'STREAM_NOT_LIVE',
  'NOT_CREATOR',
  'BALANCE_INSUFFICIENT',
  'DEBT_OUTSTANDING',
  'VOUCHER_INVALID',
  'PAYMENT_REQUIRED',
  'CAPACITY_FULL',
  'RATE_LIMITED',
  'CHAIN_UNAVAILABLE',
  'INTERNAL',
  /** The session account was not funded for this session by the delegating wallet (on chain), or not yet seen. */
  'SESSION_NOT_FUNDED',
  /** The session account already backs another live session. */
  'SESSION_IN_USE',
  /** The session id is not the one derived from the session key (`sessionIdOf`): it is another session's, or made up. */
  'SESSION_ID_INVALID',
  /** An amount or duration outside the bounds every sum is checked against (price, budget, interval). */
  'AMOUNT_OUT_OF_RANGE',
  /** A per-creator or per-stream limit was reached (e.g. producers per stream). */
  'LIMIT_REACHED',
  /** A browser request from an origin that is not the dapp's (CORS_ORIGINS): cross-site use of the session refused. */
  'ORIGIN_NOT_ALLOWED',
  /** The stream's chat is for paying viewers only (its creator's setting) and this wallet has no live paid session. */
  'CHAT_PAYING_ONLY',
  /** The wallet is banned from the chats of this stream's creator (by the creator or a moderator). */
  'CHAT_BANNED',
  /** The wallet is timed out in this creator's chats until `details.until` (ms since epoch; `retryAfterMs` from now). */
  'CHAT_TIMED_OUT',
  /** Only the stream's creator or one of its moderators can do that. */
  'NOT_MODERATOR',
  /** An ingest (WHIP) without a stream key, or with one that is not a key in use (unknown, malformed, rotated away). */
  'STREAM_KEY_INVALID',
  /** The stream key was revoked by its creator: it never works again. */
  'STREAM_KEY_REVOKED',
  /** The signed-in creator has no such stream key (key management). */
  'STREAM_KEY_NOT_FOUND',
  /** The key already publishes (`details.reason` key), another key publishes the stream (stream), or the studio does. */
  'ALREADY_PUBLISHING',
  /** The live stream has no thumbnail yet (its first picture is still being taken), or thumbnails are off here. */
  'THUMBNAIL_NOT_READY',
  /** The node cannot reach its ledger's database right now (restarting, unreachable): retry after `retryAfterMs`. */
  'LEDGER_UNAVAILABLE',
  /** The node cannot reach the state it shares with the other nodes (Redis) right now: retry after `retryAfterMs`. */
  'REDIS_UNAVAILABLE',
  /** Only the host, a co-host or an approved guest may publish to this stream; or the named wallet is not on stage. */
  'NOT_ON_STAGE',
  /** Only the host or a co-host of the stream's stage can do that (answer requests, mute, remove). */
  'NOT_STAGE_HOST',
  /** The named wallet has no waiting request to come on stage (answered already, withdrawn, or never made). */
  'STAGE_REQUEST_NOT_FOUND',
  /** The host or a co-host muted this source: only they can lift it (`stage:mute`). */
  'FORCE_MUTED',
] as const;

/** One of the stable error codes. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Failure half of every ack; `details` carries machine-readable context (e.g. `required`, `available`). */
export interface AckError {
  ok: false;
  code: ErrorCode;
  message: string;
  details?: Record<string, string>;
}

/** An acknowledgement: success with a payload, or a coded error. */
export type Ack<T extends object = Record<never, never>> = ({ ok: true } & T) | AckError;

/** Planck amount on the wire: a decimal string of an unsigned integer below 10^39 (fits u128). */
export const Planck = z.string().regex(/^(0|[1-9][0-9]{0,38})$/, 'a decimal planck amount');
/** Identifier of a stream, chosen by the server at creation. */
export const StreamId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'a stream id');
/** Identifier of a viewer's paying session (one session key, one budget): `sessionIdOf` the session account. */
export const SessionId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'a session id');
/** SS58 address text; checksums are verified by the server with @polkadot/util-crypto. */
export const Address = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{46,48}$/, 'an SS58 address');
/** 0x-prefixed hex of an even length. */
export const Hex = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, 'hex bytes');
/** `native` (balances pallet) or an assets-pallet asset id. */
export const Asset = z.union([
  z.literal('native'),
  z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1),
]);
/** A chat message's fields, in `chat:send` and `chat:tip`. */
const chatPost = {
  streamId: StreamId,
  text: ChatText,
  /** The client's id of this message: a retry with the same id answers the stored message instead of a second. */
  clientId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'a client id')
    .optional(),
  /** The sender's player position in the stream (seconds). */
  mediaTime: z.number().min(0).max(CHAT_MEDIA_TIME_MAX).optional(),
};
/** An opaque mediasoup parameter object (validated in depth by mediasoup itself). */
const MediaParams = z.record(z.string(), z.unknown());

/** Viewer delivery mode; `auto` is WebRTC while capacity allows, else HLS. */
export const ViewerMode = z.enum(['webrtc', 'hls', 'auto']);

/** A viewer's simulcast layer pick (the player's Auto/High/Medium/Low). */
export const LayerPick = z.enum(['auto', 'high', 'medium', 'low']);

/** A paying session as a join names it (`viewer:join`, `replay:join`). */
const JoinSession = z.object({
  sessionId: SessionId,
  /** ed25519 public key of the session account. */
  sessionKey: Hex,
  budget: Planck,
  /** The wallet's signed delegation of the session key to this stream and budget. */
  delegation: z.object({ message: z.string().min(1).max(2048), signature: Hex }),
  /**
   * The session key's signature of `ps1:join:<genesisHash>:<streamId>:<sessionId>:<socketId>` (contracts-client
   * `signJoinProof`, with this socket's id): proves the client holds the key; useless on any other socket.
   */
  proof: Hex,
  /**
   * Hash of the block holding the wallet's `ps1:fund:<sessionId>` funding, when the client knows it: the server
   * reads that block if its own chain follower has not seen the funding yet.
   */
  fundedIn: Hex.optional(),
});

export const schemas = {
  'stream:goLive': z.object({
    streamId: StreamId,
    /**
     * `false`: do not record the stream (no replay); otherwise it is recorded when the node records (RECORDING, on by
     * default). Applies when its room opens.
     */
    record: z.boolean().optional(),
    /** The replay's price per second in planck of the stream's asset (default: the live price). */
    replayPricePerSecond: Planck.optional(),
  }),
  'stream:end': z.object({ streamId: StreamId }),
  'rtc:capabilities': z.object({ streamId: StreamId }),
  'rtc:createTransport': z.object({ streamId: StreamId, direction: z.enum(['send', 'recv']) }),
  'rtc:connectTransport': z.object({ transportId: z.string().min(1).max(64), dtlsParameters: MediaParams }),
  'rtc:produce': z.object({
    transportId: z.string().min(1).max(64),
    kind: z.enum(['audio', 'video']),
    rtpParameters: MediaParams,
    /** What the track carries (default: camera for video, microphone for audio); a screen share is its own producer. */
    source: z.enum(MEDIA_SOURCES).optional(),
  }),
  'rtc:consume': z.object({ transportId: z.string().min(1).max(64), rtpCapabilities: MediaParams }),
  'rtc:resume': z.object({ consumerId: z.string().min(1).max(64) }),
  /** A WebRTC viewer's pick of simulcast layer for its own video consumer; `auto` lets bandwidth estimation pick. */
  'rtc:setLayers': z.object({ consumerId: z.string().min(1).max(64), layers: LayerPick }),
  /** The creator pauses (mutes the microphone, turns the camera off) or resumes one of its stream's producers. */
  'rtc:setProducerPaused': z.object({ streamId: StreamId, producerId: z.string().min(1).max(64), paused: z.boolean() }),
  'viewer:join': z.object({ streamId: StreamId, mode: ViewerMode, session: JoinSession }),
  /**
   * A paid replay of an ended, recorded stream: the same session, delegation, funding, vouchers and settlements as a
   * live join; metered by the distinct seconds of the recording the HLS edge delivers.
   */
  'replay:join': z.object({ streamId: StreamId, session: JoinSession }),
  'tick:ack': z.object({ seq: z.number().int().min(0), owed: Planck, signature: Hex }),
  'hls:token': z.object({}),
  'settlement:submitted': z.object({ txHash: Hex }),
  'viewer:leave': z.object({}),
  'chat:join': z.object({ streamId: StreamId }),
  'chat:history': z.object({
    streamId: StreamId,
    /** Messages before this one; absent: the newest (e.g. a replay of a stream the directory forgot). */
    before: ChatMessageId.optional(),
    /** Most messages to answer (default CHAT_PAGE_MAX). */
    limit: z.number().int().min(1).max(CHAT_PAGE_MAX).optional(),
  }),
  'chat:send': z.object(chatPost),
  /**
   * A message with a tip, answered unsigned to its sender, who signs `buildTip` with the message's id; shown to the
   * room once the transfer is in a block (amount from the chain's event).
   */
  'chat:tip': z.object({
    ...chatPost,
    /** The stream's asset (anything else is refused). */
    asset: Asset,
    /** The planck the sender means to transfer (> 0, ≤ the node's CHAT_TIP_MAX). */
    amount: Planck,
  }),
  'chat:leave': z.object({ streamId: StreamId }),
  'chat:react': z.object({ streamId: StreamId, reaction: z.enum(CHAT_REACTIONS) }),
  'chat:settings': z.object({
    streamId: StreamId,
    slowModeSeconds: z.number().int().min(0).max(CHAT_SLOW_MODE_MAX_SECONDS),
    payingOnly: z.boolean(),
  }),
  /** The creator names or removes moderators of all its streams (neither: answers the list, to moderators too). */
  'chat:moderators': z.object({
    streamId: StreamId,
    add: z.array(Address).max(CHAT_MODERATORS_MAX).optional(),
    remove: z.array(Address).max(CHAT_MODERATORS_MAX).optional(),
  }),
  'chat:delete': z.object({ streamId: StreamId, messageId: ChatMessageId }),
  'chat:timeout': z.object({
    streamId: StreamId,
    wallet: Address,
    minutes: z.union(CHAT_TIMEOUT_MINUTES.map((m) => z.literal(m))),
  }),
  'chat:ban': z.object({
    streamId: StreamId,
    wallet: Address,
    /** Also end the wallet's viewer sessions of this stream on the node (settled and refunded as on leave). */
    removeFromStream: z.boolean().optional(),
  }),
  'chat:unban': z.object({ streamId: StreamId, wallet: Address }),
  'chat:modlog': z.object({
    streamId: StreamId,
    /** Actions before this one (by id); absent: the newest. */
    before: ChatMessageId.optional(),
    limit: z.number().int().min(1).max(CHAT_MODLOG_PAGE_MAX).optional(),
  }),
  ...STAGE_SCHEMAS,
} as const;

/** Name of a client request. */
export type ClientEvent = keyof typeof schemas;

/** Requests answered without sign-in: anyone on the watch page reads a stream's chat. */
export const PUBLIC_EVENTS: readonly ClientEvent[] = ['chat:join', 'chat:history', 'chat:leave'];

/**
 * Client events that may be sent without an ack callback. A voucher sent that way (the dapp's way, once per second)
 * gets its answer with the next tick (`Tick.acknowledged`) and a refusal as `tick:refused`: one message per
 * viewer-second from the server instead of two.
 */
export const NOTIFICATIONS = { 'tick:ack': 'tick:refused' } as const satisfies Partial<Record<ClientEvent, string>>;
/** Parsed payload of a client request. */
export type Payload<E extends ClientEvent> = z.infer<(typeof schemas)[E]>;

/** Where a paying session stands at admission; a resumed session carries on from here (no second counts twice). */
export interface SessionStanding {
  resumed: boolean;
  /** Last tick sent (the next one is `seq + 1`). */
  seq: number;
  watchedSeconds: number;
  owed: string;
  acknowledged: string;
  settled: string;
}

export type { PaymentRules };

/** Each side's worst case for this session, in planck of the stream's asset (what the UI shows). */
export interface SessionExposure {
  /** What the creator can lose to this viewer if it stops paying (0 with pay-ahead). */
  creatorMax: string;
  /** What the viewer may have paid and not watched when it stops (one window with pay-ahead, else 0). */
  viewerMax: string;
}

/**
 * Where a viewer is sent after admission. HLS: fetch `playlistUrl` (and the segments it names) with the token as
 * `?token=` or an `x-hls-token` header; the token lives ~10 s and is renewed in ticks (`Tick.hlsToken`), or on request
 * (`hls:token`, e.g. when a fetch was refused with 401). HLS viewers are charged for the media segments delivered.
 */
export type Admission = AdmissionTerms &
  (
    | { mode: 'webrtc'; viewerId: string; session: SessionStanding }
    | { mode: 'hls'; viewerId: string; playlistUrl: string; token: string; session: SessionStanding }
  );

/**
 * Where a replay viewer is sent after `replay:join`: fetch `playlistUrl` (the recording's master or media playlist,
 * a VOD) and its segments with the token as for live HLS. Each distinct second of the recording delivered is charged
 * once per session (a re-fetch or another rendition of it is not); seconds never fetched are not charged.
 */
export type ReplayAdmission = AdmissionTerms & {
  mode: 'replay';
  viewerId: string;
  playlistUrl: string;
  token: string;
  session: SessionStanding;
};

/** The rules a session is held to and each side's worst case under them; the client follows these, never its own. */
export interface AdmissionTerms {
  rules: PaymentRules;
  exposure: SessionExposure;
}

/** Transport parameters the client needs to build its mediasoup-client transport. */
export interface TransportInfo {
  id: string;
  iceParameters: unknown;
  iceCandidates: unknown[];
  dtlsParameters: unknown;
}

/**
 * A TURN server for the client's RTCPeerConnection (`iceServers`), with a short-lived credential minted for the
 * signed-in wallet (TURN REST API): `username` is `<expiry unix seconds>:<wallet>`.
 */
export interface IceServerInfo {
  urls: string[];
  username: string;
  credential: string;
}

/** Result payload of each client request. */
export interface AckPayloads extends StageAckPayloads {
  'stream:goLive': { streamId: string };
  'stream:end': { streamId: string };
  'rtc:capabilities': { routerRtpCapabilities: unknown };
  /** `iceServers`: the node's TURN servers with fresh credentials (absent while TURN is off). */
  'rtc:createTransport': { transport: TransportInfo; iceServers?: IceServerInfo[] };
  'rtc:connectTransport': Record<never, never>;
  'rtc:produce': { producerId: string };
  'rtc:consume': {
    consumers: { id: string; producerId: string; kind: 'audio' | 'video'; rtpParameters: unknown }[];
  };
  'rtc:resume': Record<never, never>;
  'rtc:setLayers': Record<never, never>;
  'rtc:setProducerPaused': Record<never, never>;
  'viewer:join': Admission;
  'replay:join': ReplayAdmission;
  /**
   * `acknowledged`: the cumulative amount of the session's newest VERIFIED voucher, as the ledger holds it. Signatures
   * are verified in rounds (`VOUCHER_VERIFY_INTERVAL_MS`), so it lags the voucher just sent by up to one round; a bad
   * signature shows as `payment:required {reason: 'voucher-invalid'}` within a round.
   */
  'tick:ack': { acknowledged: string };
  /** A fresh HLS token, for an admitted HLS or replay viewer whose payments are current (else PAYMENT_REQUIRED). */
  'hls:token': { hlsToken: string };
  'settlement:submitted': Record<never, never>;
  /** The session's final figures in the ledger: metered (`owed`), settled on chain so far, seconds metered. */
  'viewer:leave': { owed: string; settled: string; watchedSeconds: number };
  /**
   * The stream's last messages (newest last), its settings, the reactions it takes and whether the signed-in wallet
   * moderates the chat (`role`: its creator or one of its moderators; null otherwise and for anonymous sockets);
   * `chat:*` events follow.
   */
  'chat:join': {
    streamId: string;
    messages: ChatMessage[];
    settings: ChatSettings;
    reactions: readonly ChatReaction[];
    role: ChatJoinRole;
  };
  /** Messages before `before`, or the newest (newest last); `more`: older ones remain. */
  'chat:history': { messages: ChatMessage[]; more: boolean };
  /** The stored message (the others in the room get it as `chat:message`). */
  'chat:send': { message: ChatMessage };
  /** The stored message with its tip `unsigned`: only its sender has it until the transfer is in a block. */
  'chat:tip': { message: ChatMessage };
  'chat:leave': Record<never, never>;
  'chat:react': Record<never, never>;
  'chat:settings': { settings: ChatSettings };
  /** The creator's moderators after the change. */
  'chat:moderators': { moderators: string[] };
  'chat:delete': Record<never, never>;
  /** When the timeout ends (server ms). */
  'chat:timeout': { until: number };
  /** `removed`: viewer sessions of the wallet ended on this node (removeFromStream). */
  'chat:ban': { removed: number };
  /** `lifted`: whether a ban or timeout was recorded. */
  'chat:unban': { lifted: boolean };
  /** Actions in all of the creator's streams, newest first; `more` when older remain. */
  'chat:modlog': { actions: ChatModAction[]; more: boolean };
}

/** Client → server events: each takes its payload and an ack callback (optional for NOTIFICATIONS). */
export type ClientToServerEvents = {
  [E in ClientEvent]: E extends keyof typeof NOTIFICATIONS
    ? (payload: Payload<E>, ack?: (res: Ack<AckPayloads[E]>) => void) => void
    : (payload: Payload<E>, ack: (res: Ack<AckPayloads[E]>) => void) => void;
};

/** A per-second charge, sent to one viewer only while media flows to it. */
export interface Tick {
  seq: number;
  watchedSeconds: number;
  owed: string;
  /** The session's acknowledged amount: its newest verified voucher (the answer to the vouchers sent so far). */
  acknowledged: string;
  /** A renewed HLS token, for an HLS viewer whose payments are current, once the last is past about half its life. */
  hlsToken?: string;
}

/** A voucher sent without an ack callback was refused (`seq`: the tick it was for, when the payload had one). */
export interface TickRefusal {
  seq?: number;
  code: ErrorCode;
  message: string;
}

/** A producer the creator added to a stream's room. */
export interface NewProducer {
  producerId: string;
  kind: 'audio' | 'video';
}

/**
 * Why payment enforcement paused a viewer (`payment:required`): `voucher-lag` vouchers behind, `settlement-lag`
 * settlements behind (with pay-ahead: the next window not paid yet), `voucher-invalid` the newest voucher's signature
 * failed.
 */
export type PaymentRequiredReason = 'voucher-lag' | 'settlement-lag' | 'voucher-invalid';

/** Why media stopped for a viewer (`media:paused`). */
export type MediaPauseReason = PaymentRequiredReason | 'creator-away';

/**
 * Why the server ended a viewer's session (`viewer:released`): `idle` (no media, no payment for IDLE_RELEASE_SECONDS),
 * `banned` (the creator or a moderator banned the wallet and removed it from the stream) or `replay-deleted` (the
 * creator deleted the replay being watched).
 */
export type ViewerReleaseReason = 'idle' | 'banned' | 'replay-deleted';

/**
 * The layer a viewer's video consumer forwards: spatial 0 is the lowest of `spatialLayers`; `null` while it forwards
 * none (paused, or no bandwidth for even the lowest layer).
 */
export interface ConsumerLayers {
  consumerId: string;
  spatialLayer: number | null;
  temporalLayer: number | null;
  spatialLayers: number;
}

/** Server → client events. */
export interface ServerToClientEvents extends StageServerEvents {
  tick: (tick: Tick) => void;
  'tick:refused': (refusal: TickRefusal) => void;
  /**
   * Media paused by payment enforcement: acknowledgements (`voucher-lag`) or settlements (`settlement-lag`) behind, or
   * the newest voucher's signature failed verification (`voucher-invalid`; a valid newest voucher resumes).
   */
  'payment:required': (p: { reason: PaymentRequiredReason; owed: string; settled: string }) => void;
  /** Payments are current again; `hlsToken`: a fresh token for an HLS viewer whose media resumes. */
  'payment:ok': (p: { settled: string; hlsToken?: string }) => void;
  /**
   * Media stopped for the viewer: a `payment:required` reason (payment enforcement, with `payment:required`) or
   * `creator-away` (the creator's connection dropped; the stream ends unless the creator is back within the grace).
   */
  'media:paused': (p: { reason: MediaPauseReason }) => void;
  /** Media flows again; `hlsToken`: a fresh token for an HLS viewer (the last one may have expired meanwhile). */
  'media:resumed': (p?: { hlsToken?: string }) => void;
  /**
   * The creator added producers (audio after video, or publishing again after a reconnect). A WebRTC viewer calls
   * `rtc:consume` again (it answers only the consumers it does not have yet), then `rtc:resume` for each.
   */
  'rtc:newProducers': (p: { streamId: string; producers: NewProducer[] }) => void;
  /** To a WebRTC viewer: the simulcast layer its video consumer forwards changed (bandwidth or its own pick). */
  'consumer:layers': (p: ConsumerLayers) => void;
  'stream:ended': (p: { streamId: string }) => void;
  /**
   * The server released an admitted viewer: it received no media and showed no payment for IDLE_RELEASE_SECONDS
   * (`idle`), or the creator or a moderator banned it from the stream (`banned`). Its session is closed as on leave:
   * settle `owed − settled`, then sweep the rest back.
   */
  'viewer:released': (p: { reason: ViewerReleaseReason; owed: string; settled: string }) => void;
  /** To the creator, about once a second while live: what its viewers are watching and paying, from the ledger. */
  'stream:stats': (p: StreamStats) => void;
  /** To the creator's sockets once its stream ended and this node closed its sessions (see `StreamEndSummary`). */
  'stream:summary': (p: StreamEndSummary) => void;
  /**
   * A tipped message in a chat the socket joined, once its tip is in a block (ordinary messages come in
   * `chat:messages`).
   */
  'chat:message': (m: ChatMessage) => void;
  /**
   * New messages in a chat the socket joined, oldest first, sent in batches (at most one per room, node and
   * CHAT_BATCH_WINDOW_MS); the senders get their own too (they had it in the ack first): clients keep one per id.
   */
  'chat:messages': (p: ChatMessageBatch) => void;
  /** A message was removed by the creator or a moderator (`by`); history no longer answers it. */
  'chat:deleted': (p: { streamId: string; messageId: string; by: string }) => void;
  /** Reactions of the last second in a joined chat, summed per node (at most one per node and second). */
  'chat:reactions': (p: ChatReactionCounts) => void;
  /** The creator or a moderator changed the chat's settings. */
  'chat:settings': (p: { streamId: string } & ChatSettings) => void;
  /**
   * A tipped message's tip went `pending` (in a block: the message came as `chat:message` first) or `final`, or back
   * to `unsigned` (its block lost a fork: hide the message until it comes again); amount from the chain.
   */
  'chat:tip': (p: ChatTipUpdate) => void;
}

/** A creator's live numbers (`stream:stats`); amounts in planck of the stream's asset. */
export interface StreamStats {
  streamId: string;
  /** Viewer sessions watching now (media flowing or paused for payment). */
  viewers: number;
  /** Σ price of the viewers ticked in the last round. */
  earningsPerSecond: string;
  /** Σ metered over the stream's sessions. */
  owed: string;
  /** Σ acknowledged by verified vouchers. */
  acknowledged: string;
  /** Σ settled on chain, in a block but not final yet. */
  settledPending: string;
  /** Σ settled on chain and final. */
  settledFinal: string;
  /** Σ tips on the stream's chat messages, in a block (`pending`) and final, from the chain's events. */
  tips: { pending: string; final: string };
}

/**
 * A stream's figures for its creator (`GET /v1/streams/:id/summary`, `stream:summary` at its end), amounts in planck of
 * the stream's asset, from the ledger (viewer sessions and settlements credited from the chain) and the chat's tips.
 */
export const StreamEndSummary = z.object({
  streamId: StreamId,
  /** First went live and ended (ISO, the server's clock); `endedAt` absent while still live. */
  liveAt: z.string().optional(),
  endedAt: z.string().optional(),
  /** liveAt → endedAt (or now, while live), whole seconds. */
  durationSeconds: z.number().int().min(0),
  /** Most viewers watching at once, as counted at admissions (the directory's count). */
  peakViewers: z.number().int().min(0),
  /** Distinct viewer wallets with a paying session of this stream. */
  uniqueViewers: z.number().int().min(0),
  /** Paying sessions opened, and those still open (their node has not closed them yet). */
  sessions: z.number().int().min(0),
  openSessions: z.number().int().min(0),
  /** Σ metered over the stream's sessions (seconds watched × price): what was earned live. */
  earned: Planck,
  /** Σ settled on chain, in a block not final yet / final. */
  settledPending: Planck,
  settledFinal: Planck,
  /** Σ over sessions of what was metered and is not settled yet (a viewer's last settlement not seen yet, or debt). */
  unsettled: Planck,
  /** Tips on the stream's chat messages, in a block (`pending`) and final, from the chain's events. */
  tips: z.object({ pending: Planck, final: Planck }),
});
export type StreamEndSummary = z.infer<typeof StreamEndSummary>;

/**
 * A stream's replay (`GET /v1/streams/:id/replay`, `GET /v1/replays`): the recording this node keeps of it and what a
 * second of it costs (planck of the stream's asset). `recording` while the stream is recorded (not watchable yet),
 * `ready` once it ended as a VOD.
 */
export const ReplayInfo = z.object({
  streamId: StreamId,
  title: z.string(),
  creator: z.string(),
  asset: Asset,
  status: z.enum(['recording', 'ready']),
  /** Seconds of media recorded (the highest rendition). */
  durationSeconds: z.number().min(0),
  /** The replay's price per second: the creator's choice at `stream:goLive`, else the live price. */
  pricePerSecond: Planck,
  livePricePerSecond: Planck,
  /** When the recording started and ended (ISO, the server's clock). */
  createdAt: z.string(),
  endedAt: z.string().optional(),
});
export type ReplayInfo = z.infer<typeof ReplayInfo>;

/** What changed in a chat's state another node may hold in memory (`chat:invalidate`, see chat/ChatInvalidation.ts). */
export const ChatInvalidation = z.discriminatedUnion('kind', [
  /** A creator's moderators, bans or timeouts (address in the protocol's format). */
  z.object({ kind: z.literal('creator'), creator: z.string().min(1).max(64) }),
  /** A stream's chat settings. */
  z.object({ kind: z.literal('settings'), streamId: StreamId }),
]);
export type ChatInvalidation = z.infer<typeof ChatInvalidation>;

/** Events between signaling nodes (Socket.IO adapter's `serverSideEmit`). */
export interface InterServerEvents {
  /** Drop the named chat state held in memory; acknowledged once dropped. */
  'chat:invalidate': (m: ChatInvalidation, ack: (done: boolean) => void) => void;
}

/** What the server keeps on each authenticated socket. */
export interface SocketData {
  address?: string;
}

/** A live stream as listed by `GET /v1/streams`. */
export interface StreamSummary {
  streamId: string;
  title: string;
  creator: string;
  pricePerSecond: string;
  asset: 'native' | number;
  metadataCid: string;
  thumbnailCid?: string;
  live: boolean;
  viewers: number;
  /** How its viewers pay: the creator's choice, or the node's default (SETTLE_EVERY_SECONDS, no pay-ahead). */
  terms: StreamPaymentTerms;
}

/**
 * `GET /v1/payment-terms`: what a creator may choose on this node and the windows every session here gets besides
 * the stream's terms. A stream's rules are its terms with these, except that pay-ahead has no payment grace (0) and
 * the prepay covers at least one settle interval; `GET /v1/streams/:id` shows a stream's own `rules` and `exposure`.
 */
export interface NodePaymentTerms extends Omit<PaymentRules, keyof StreamPaymentTerms> {
  /** Bounds of `settleEverySeconds` at stream creation (SETTLE_EVERY_BOUNDS). */
  settleEveryBounds: { min: number; max: number };
  /** The terms of a stream whose creator chose none. */
  defaultTerms: StreamPaymentTerms;
}
