// A funded session left from an earlier visit (a tab closed before leaving): offered again on the same stream while
// its account still holds enough to watch, so "Watch" carries on with it instead of funding a new one. One made before
// session ids were derived from keys is never offered (the node refuses it SESSION_ID_INVALID); it stays in the store,
// so debt repayment can still pay from it and sweep it back.
import type { StreamView } from '../api/streams.ts';
import { balanceOf } from '../chain/api.ts';
import { DEV_SS58 } from '../chain/devChain.ts';
import type { Delegated } from './admission.ts';
import { restoreSessionKey, type SessionKey, sessionIdOf } from './sessionKey.ts';
import { findReusable, type StoredSession } from './sessionStore.ts';
import type { SessionKind } from './watchStatus.ts';

/**
 * A session left from an earlier visit is offered again when it still holds at least this much watching (and the
 * node's prepay for the stream, below which it would not admit it).
 */
const REUSE_MIN_SECONDS = 60;

/** A delegated session from an earlier visit, with its key and what its account holds (planck). */
export interface EarlierSession {
  key: SessionKey;
  stored: StoredSession;
  delegation: Delegated;
  held: bigint;
}

/** Whether `s`'s session id is its key's, as the node requires of every join. */
function idOfItsKey(s: StoredSession): boolean {
  return s.sessionId === sessionIdOf(restoreSessionKey(s.seedHex, DEV_SS58).address);
}

/** The newest delegated `kind` session of `wallet` on `stream` whose account still holds enough to watch, if any. */
export async function findEarlierSession(
  wallet: string,
  stream: StreamView,
  kind: SessionKind = 'live',
): Promise<EarlierSession | undefined> {
  const { asset } = stream;
  const found = await findReusable(
    wallet,
    { streamId: stream.streamId, asset: String(asset), kind },
    BigInt(stream.pricePerSecond) * BigInt(Math.max(REUSE_MIN_SECONDS, stream.rules.minPrepaySeconds)),
    async (s) => (await balanceOf(restoreSessionKey(s.seedHex, DEV_SS58).address, asset)).spendable,
    idOfItsKey,
  );
  const d = found?.session.delegation;
  if (!found || !d) return undefined;
  const { session, held } = found;
  const delegation = { message: d.message, signature: d.signature, budget: BigInt(d.budget) };
  return { key: restoreSessionKey(session.seedHex, DEV_SS58), stored: session, delegation, held };
}
