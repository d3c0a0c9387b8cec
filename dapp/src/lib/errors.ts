// Turns the server's stable error codes into sentences a person understands (never raw codes or stack traces).
import type { ErrorCode } from '@persecond/signaling/protocol';

const SENTENCES: Record<ErrorCode, string> = {
  BAD_REQUEST: 'The app sent something the server did not understand. Reload the page and try again.',
  UNAUTHENTICATED: 'Please sign in with your wallet first.',
  NONCE_INVALID: 'That sign-in request expired or was already used. Please sign in again.',
  SIGNATURE_INVALID:
    'Your wallet signature could not be verified. Make sure you picked the right account and sign again.',
  STREAM_NOT_FOUND: 'This stream does not exist (any more).',
  STREAM_NOT_LIVE: 'This stream is not live right now. Come back when the creator goes live.',
  NOT_CREATOR: 'Only the creator of this stream can do that.',
  BALANCE_INSUFFICIENT:
    'There is not enough money in your watch budget to start. Add funds to your budget and try again.',
  DEBT_OUTSTANDING:
    'You still owe a creator for a stream you watched earlier. Settle that payment first, then you can watch again.',
  VOUCHER_INVALID: 'A payment acknowledgement was refused. Reload the page to start a fresh session.',
  PAYMENT_REQUIRED: 'Playback is paused until your latest payment reaches the chain.',
  CAPACITY_FULL: 'This stream is full right now. Please try again in a moment.',
  RATE_LIMITED: 'Too many requests in a short time. Wait a few seconds and try again.',
  CHAIN_UNAVAILABLE: 'The blockchain cannot be reached right now. Please try again shortly.',
  INTERNAL: 'Something went wrong on our side. Please try again.',
  SESSION_NOT_FUNDED:
    'The server has not seen the funding of this budget on chain yet. Wait a few seconds and press Watch again.',
  SESSION_IN_USE:
    'This budget is already being used to watch in another tab or device. Leave there first, or fund a new budget here.',
  SESSION_ID_INVALID:
    'This budget was made by an earlier version of Persecond and cannot be used to watch any more. Fund a new budget to watch.',
  AMOUNT_OUT_OF_RANGE: 'That amount is outside what Persecond accepts. Choose a smaller price or budget.',
  LIMIT_REACHED: 'A limit of this stream was reached. Please try again later.',
  ORIGIN_NOT_ALLOWED: 'This page is not allowed to talk to the Persecond server. Open Persecond from its own address.',
  CHAT_PAYING_ONLY: 'This chat is for paying viewers only. Start watching the stream to post.',
  CHAT_BANNED: 'You are banned from this creator’s chat and cannot post here.',
  CHAT_TIMED_OUT: 'You are timed out in this creator’s chat. You can post again when the timeout ends.',
  NOT_MODERATOR: 'Only the creator of this stream or one of its moderators can do that.',
  STREAM_KEY_INVALID: 'That stream key is not valid. Copy the key again from the studio.',
  STREAM_KEY_REVOKED: 'That stream key was revoked. Create a new key in the studio.',
  STREAM_KEY_NOT_FOUND: 'That stream key no longer exists. Reload the page to see your keys.',
  ALREADY_PUBLISHING: 'This stream is already being published. Stop the other broadcast first.',
  THUMBNAIL_NOT_READY: 'The preview of this stream is not ready yet. It appears a few seconds after the stream starts.',
  LEDGER_UNAVAILABLE: 'Payments cannot be recorded right now. Nothing was charged; please try again in a few seconds.',
  REDIS_UNAVAILABLE: 'The service is briefly unavailable. Nothing was charged; please try again in a few seconds.',
  NOT_ON_STAGE: 'Only the host and the people they invited on stage can share a camera, microphone or screen here.',
  NOT_STAGE_HOST: 'Only the host or a co-host of this stream can do that.',
  STAGE_REQUEST_NOT_FOUND: 'That request to join the stage was already answered or withdrawn.',
  FORCE_MUTED: 'The host muted this for you. Only the host or a co-host can let you turn it back on.',
};

const CODES = new Set<string>(Object.keys(SENTENCES));

/** True when `code` is one of the stable error codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && CODES.has(code);
}

/** The sentence shown to people for a stable error code. */
export function explainCode(code: ErrorCode): string {
  return SENTENCES[code];
}

/** An error the UI can show as-is: a stable code (when the server sent one) and a human sentence. */
export class UserFacingError extends Error {
  constructor(
    readonly code: ErrorCode | 'NETWORK' | 'WALLET' | 'INPUT',
    message: string,
    readonly details?: Record<string, string>,
  ) {
    super(message);
    this.name = 'UserFacingError';
  }

  /** Builds the error for a coded server failure. */
  static fromCode(code: ErrorCode, details?: Record<string, string>): UserFacingError {
    return new UserFacingError(code, SENTENCES[code], details);
  }
}

/** A sentence for any thrown value; unknown failures never leak stack traces or internals. */
export function explain(err: unknown): string {
  if (err instanceof UserFacingError) return err.message;
  if (err instanceof TypeError && /fetch|network/i.test(err.message)) return 'The server cannot be reached right now.';
  if (err instanceof Error && /reject|cancel|denied/i.test(err.message))
    return 'The request was cancelled in your wallet.';
  return 'Something went wrong. Please try again.';
}
