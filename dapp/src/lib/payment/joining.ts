// Joining a stream with a funded session: the admission (a refusal shown with what to do, an old debt described),
// the settlements it starts under the rules the server admitted the session with, the player (HLS when WebRTC cannot
// start), the voucher loop; and, when an old debt refused the join, that debt paid and the join tried again until the
// server credited the payment.
import type { StreamView } from '../api/streams.ts';
import { explain, UserFacingError } from '../errors.ts';
import type { QualityControl } from '../media/hlsQuality.ts';
import { WebRtcUnavailableError } from '../media/playback.ts';
import type { SignalingSocket } from '../signaling/socket.ts';
import type { Wallet } from '../wallet/wallet.svelte.ts';
import { type Delegated, isJoinRefusal, type JoinRequest, requestAdmission } from './admission.ts';
import { describeDebt, type OutstandingDebt, repayDebt } from './debtRepayment.ts';
import type { FundedSession } from './FundedSession.ts';
import { admittedRules, type SettleRules } from './rules.ts';
import type { ViewerConnection } from './ViewerConnection.ts';
import type { SessionKind, WatchPhase, WatchTimings } from './watchStatus.ts';

/** Joins tried after paying an old debt, `DEBT_CREDIT_RETRY_MS` apart, while the server has not credited it yet. */
const DEBT_CREDIT_ATTEMPTS = 5;
const DEBT_CREDIT_RETRY_MS = 1_500;

/** How the viewer asks to watch: as the server places it, or WebRTC or HLS. */
export type JoinMode = JoinRequest['mode'];

/** A refusal of `viewer:join`: its stable code (BALANCE_INSUFFICIENT, DEBT_OUTSTANDING…), for the action that fixes it. */
export interface Refusal {
  code: string;
  message: string;
  details?: Record<string, string>;
}

/** The rules the server admitted a session under, and the viewer's worst case under them (planck). */
export interface Admitted {
  rules: SettleRules;
  viewerMax: bigint;
}

/** The watch session's figures a join reads and sets (its own reactive fields). */
export interface JoiningSession {
  readonly stream: StreamView;
  /** The live stream (`viewer:join`) or its replay (`replay:join`). */
  readonly kind: SessionKind;
  readonly price: bigint;
  readonly timings: WatchTimings;
  phase: WatchPhase;
  refusal: Refusal | undefined;
  debt: OutstandingDebt | undefined;
  admitted: Admitted | undefined;
  watchedSeconds: number;
  owed: bigint;
  mode: 'webrtc' | 'hls' | undefined;
  /** The HLS player's quality menu control, while one plays. */
  quality: QualityControl | undefined;
}

/** What a join works with besides the figures. */
export interface JoinParts {
  link: ViewerConnection;
  wallet: Wallet;
  funded: FundedSession | undefined;
  delegation: Delegated | undefined;
  /** Stops the voucher loop and the player, before a new playback starts. */
  stopPlayback(): void;
  /** Joins afresh in `mode` (WebRTC could not start: HLS). */
  join(mode: JoinMode): Promise<void>;
}

/** Joins with the funded session, starts its settlements and plays; a refusal is shown, anything else thrown. */
export async function join(s: JoiningSession, p: JoinParts, mode: JoinMode): Promise<void> {
  const { funded, delegation, link } = p;
  const video = link.video;
  if (!funded || !delegation || !video) return;
  s.phase = 'joining';
  const socket = await link.open();
  const admission = await admit(s, p, { socket, funded, delegation, mode });
  if (!admission) return;
  s.refusal = undefined;
  s.timings.admitted = performance.now();
  const { rules, viewerMax, kind } = admittedRules(admission, s.stream.terms, s.price);
  s.admitted = { rules, viewerMax };
  const { settler, vouchers } = funded;
  settler.follow(rules, kind);
  const standing = admission.session;
  if (vouchers.carryOn(standing)) {
    s.watchedSeconds = standing.watchedSeconds;
    s.owed = BigInt(standing.acknowledged);
  }
  settler.credit(BigInt(standing.settled));
  // Pay-ahead: the first window is paid now; the server serves no second before it sees it.
  const metered = BigInt(standing.owed);
  void settler.prepay(metered > s.owed ? metered : s.owed, standing.seq);
  // A replay joined again (a reconnect) carries on where it played; a new one starts at the recording's start.
  const startAt = s.kind === 'replay' && s.mode ? video.currentTime : 0;
  p.stopPlayback();
  try {
    s.mode = await link.player.start(admission, socket, video, startAt);
    s.quality = link.player.quality;
  } catch (err) {
    if (!(err instanceof WebRtcUnavailableError)) throw err;
    if (mode !== 'hls') return p.join('hls');
    throw new UserFacingError('INTERNAL', 'The video could not be played in this browser.');
  }
  s.timings.playing = performance.now();
  s.phase = 'watching';
  vouchers.start(() => link.player.sample(link.video));
}

/** The watch session's figures paying an old debt reads and sets (its own reactive fields). */
export interface IndebtedSession {
  /** A funded session waits for Watch. */
  readonly ready: object | undefined;
  readonly refusal: Refusal | undefined;
  phase: WatchPhase;
  debt: OutstandingDebt | undefined;
  payingDebt: boolean;
  problem: string | undefined;
}

/**
 * Pays the debt the server reported from the session accounts of `wallet`'s earlier sessions this browser still holds
 * keys for (all but `except`), and, when Watch was pressed, joins again with `join`.
 */
export async function payDebtAndJoin(
  s: IndebtedSession,
  p: { wallet: string | undefined; except: string; link: ViewerConnection; join(): Promise<void> },
): Promise<void> {
  const { wallet } = p;
  const debt = s.debt;
  if (!wallet || !debt || s.payingDebt) return;
  s.payingDebt = true;
  s.problem = undefined;
  try {
    await repayDebt(wallet, debt.amount, p.except);
    s.debt = undefined;
    if (!p.link.video || !s.ready) {
      s.phase = s.ready ? 'funded' : 'idle';
      return;
    }
    // The server credits a payment once it sees it in a block: until then it still reports the debt.
    for (let attempt = 1; ; attempt++) {
      await p.join();
      if (s.refusal?.code !== 'DEBT_OUTSTANDING' || attempt === DEBT_CREDIT_ATTEMPTS) break;
      await sleep(DEBT_CREDIT_RETRY_MS);
    }
  } catch (err) {
    s.problem = `The old payment could not be made: ${explain(err)}`;
  } finally {
    s.payingDebt = false;
  }
}

/** Asks to join; a refusal is shown with what to do (undefined then), anything else thrown. */
async function admit(
  s: JoiningSession,
  p: JoinParts,
  j: { socket: SignalingSocket; funded: FundedSession; delegation: Delegated; mode: JoinMode },
) {
  const { streamId } = s.stream;
  const { key, sessionId, stored } = j.funded;
  try {
    return await requestAdmission(j.socket, {
      ...{ genesisHash: p.link.genesis, streamId, sessionId, key, delegation: j.delegation, mode: j.mode },
      kind: s.kind,
      ...(stored.fundedIn ? { fundedIn: stored.fundedIn } : {}),
    });
  } catch (err) {
    if (!isJoinRefusal(err)) throw err;
    s.refusal = { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
    if (err.code === 'DEBT_OUTSTANDING')
      s.debt = await describeDebt(p.wallet.selectedAddress, err.details?.debt, sessionId);
    s.phase = 'refused';
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
