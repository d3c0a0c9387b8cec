// What the chat says when a message or a press was refused: the code's sentence (errors.ts), with the wait when the
// server named one (RATE_LIMITED, CHAT_TIMED_OUT), and "sign in to chat" for a socket that is not signed in.
import { explain, UserFacingError } from '../errors.ts';

/** The sentence shown under the chat's input for a refused request. */
export function chatErrorSentence(err: unknown): string {
  if (!(err instanceof UserFacingError)) return explain(err);
  if (err.code === 'UNAUTHENTICATED') return 'Sign in to chat.';
  const ms = Number(err.details?.retryAfterMs);
  if (!Number.isFinite(ms) || ms <= 0) return err.message;
  const why = err.code === 'RATE_LIMITED' && err.details?.reason === 'slow-mode' ? 'Slow mode is on. ' : '';
  return `${why}${err.message} You can send again in ${waitText(ms)}.`;
}

function waitText(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  return seconds < 120 ? `${seconds} s` : `${Math.ceil(seconds / 60)} min`;
}
