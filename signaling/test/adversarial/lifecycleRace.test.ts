// Issue 19, attack 6 — lifecycle races: a leave racing a rejoin of the same session on another socket, a join racing a
// disconnect, and the reconnect grace expiring as the viewer comes back. Fired without awaiting, many times. After each
// race the session is either closed in the ledger and served nowhere (no ticks, the edge refuses it, not in the room),
// or attached to the new socket, active in the ledger and still ticking: never closed in the ledger while served.
// Real clients (socket.io-client, plain HTTP to the HLS edge child) on the real stack (dev chain, mediasoup, ffmpeg,
// PGlite).
import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openSocket, signIn } from '../support/clients.ts';
import type { LiveStream, PaidSession } from '../support/liveStream.ts';
import { PayingViewer } from '../support/liveStream.ts';
import { type AckJson, call, callOk } from '../viewers-support.ts';
import { freshWallet, liveStreamOf, NO_SETTLEMENT_ENV, sessionWith } from './viewerAttacks.ts';

const PRICE = 1_000_000n;
const SEGMENT_SECONDS = 1;
/** Short, so grace expiry can be raced within the test (viewers config RECONNECT_GRACE_SECONDS). */
const RECONNECT_GRACE_SECONDS = 2;
const ITERATIONS = 8;

/** One session's sockets, each with a paying viewer acknowledging its ticks, and the newest admission. */
interface Racer {
  wallet: KeyringPair;
  session: PaidSession;
  token: string;
  viewer?: PayingViewer;
  playlistUrl?: string;
  hlsToken?: string;
  fetched: Set<string>;
}

describe('lifecycle races: leave × rejoin, join × disconnect, grace expiry × reconnect', () => {
  let live: LiveStream;
  let streamId: string;
  const sockets: Socket[] = [];
  const outcomes: Record<string, { attached: number; closed: number }> = {};

  const count = (what: string, attached: boolean) => {
    outcomes[what] ??= { attached: 0, closed: 0 };
    outcomes[what][attached ? 'attached' : 'closed']++;
  };

  /** A signed-in socket of the racer's wallet (one sign-in per wallet: the sign-in limiter counts per address). */
  const socketOf = async (r: Racer): Promise<PayingViewer> => {
    const socket = await openSocket(live.server.url, r.token);
    sockets.push(socket);
    return new PayingViewer(socket, live.client.facts.genesisHash, streamId, r.session);
  };

  const newRacer = async (fundFrom: KeyringPair): Promise<Racer> => {
    const wallet = await freshWallet(live, fundFrom);
    const session = sessionWith(live, wallet, streamId);
    await live.fund(wallet, session);
    return { wallet, session, token: await signIn(live.server.url, wallet), fetched: new Set() };
  };

  const joinOn = (v: PayingViewer, r: Racer): Promise<AckJson> =>
    call(v.socket, 'viewer:join', { streamId, mode: 'hls', session: r.session.payload });

  /** Takes an admission answered on `v`: the viewer and token the session now answers on. */
  const admitted = (r: Racer, v: PayingViewer, admission: AckJson): void => {
    r.viewer = v;
    r.playlistUrl = admission.playlistUrl as string;
    r.hlsToken = admission.token as string;
  };

  /** Joins the racer's session on `v` (must be admitted) and takes the admission. */
  const joinedOn = async (r: Racer, v: PayingViewer): Promise<void> => {
    admitted(r, v, await callOk(v.socket, 'viewer:join', { streamId, mode: 'hls', session: r.session.payload }));
  };

  const edgeUrl = (r: Racer, file?: string): string => {
    const url = file ? (r.playlistUrl as string).replace(/[^/]+$/, file) : (r.playlistUrl as string);
    return `${url}?token=${encodeURIComponent(r.viewer?.hlsToken ?? r.hlsToken ?? '')}`;
  };

  /** Served and ticking: a new segment is delivered with its token and the next tick reaches its socket. */
  const stillTicking = async (r: Racer): Promise<void> => {
    const v = r.viewer as PayingViewer;
    const ticksBefore = v.ticks.length;
    await vi.waitFor(
      async () => {
        const list = await fetch(edgeUrl(r));
        expect(list.status).toBe(200);
        const files = (await list.text()).split('\n').filter((l) => l.endsWith('.ts') && !r.fetched.has(l));
        const file = files.at(-1);
        expect(file).toBeDefined();
        const res = await fetch(edgeUrl(r, file));
        await res.arrayBuffer();
        expect(res.status).toBe(200);
        r.fetched.add(file as string);
      },
      { timeout: 30_000, interval: 250 },
    );
    await vi.waitFor(() => expect(v.ticks.length).toBeGreaterThan(ticksBefore), { timeout: 30_000, interval: 50 });
    // Ticked, so recorded by the ledger: the session is open there.
    expect((await live.ledger().session(r.session.sessionId))?.status).toBe('active');
  };

  /** Closed everywhere: in the ledger, the registry, the meter, the room's HLS viewers; the edge refuses its token. */
  const closedEverywhere = async (r: Racer, lastToken: string | undefined): Promise<void> => {
    const id = r.session.sessionId;
    await vi.waitFor(
      async () => {
        expect(live.viewers().viewer(id)).toBeUndefined();
        expect((await live.ledger().session(id))?.status).toBe('closed');
      },
      { timeout: 30_000, interval: 50 },
    );
    expect(live.viewers().meter.has(id)).toBe(false);
    expect(live.sfu.getRoom(streamId)?.hlsViewerIds).not.toContain(id);
    if (lastToken && r.playlistUrl) {
      await vi.waitFor(
        async () => {
          const res = await fetch(`${r.playlistUrl}?token=${encodeURIComponent(lastToken)}`);
          await res.arrayBuffer();
          expect(res.status).toBe(401);
        },
        { timeout: 20_000, interval: 50 },
      );
    }
  };

  /** The session's state right after a race: attached to `v` (active, ticking) or closed everywhere, never between. */
  const attachedOrClosed = async (what: string, r: Racer, v: PayingViewer, join: AckJson): Promise<void> => {
    const id = r.session.sessionId;
    const snapshot = live.viewers().viewer(id);
    const row = await live.ledger().session(id);
    if (join.ok) {
      admitted(r, v, join);
      expect(snapshot).toMatchObject({ connected: true });
      expect(row?.status).toBe('active');
      await stillTicking(r);
      count(what, true);
    } else {
      expect(snapshot?.connected ?? false).toBe(false);
      await closedEverywhere(r, r.hlsToken);
      count(what, false);
    }
  };

  beforeAll(async () => {
    ({ live, streamId } = await liveStreamOf('Lifecycle races', PRICE, {
      sfuEnv: { HLS_SEGMENT_SECONDS: String(SEGMENT_SECONDS) },
      viewersEnv: {
        ...NO_SETTLEMENT_ENV,
        RECONNECT_GRACE_SECONDS: String(RECONNECT_GRACE_SECONDS),
        JOIN_RATE_LIMIT_MAX: '1000',
      },
    }));
  });

  afterAll(async () => {
    console.info(`race outcomes: ${JSON.stringify(outcomes)}`);
    for (const s of sockets) s.close();
    await live?.close();
  });

  it('leave on one socket racing a rejoin on another: attached and ticking, or closed and served nowhere', async () => {
    const r = await newRacer(live.wallets.bob);
    const first = await socketOf(r);
    await joinedOn(r, first);
    await stillTicking(r);
    for (let i = 0; i < ITERATIONS; i++) {
      const current = r.viewer as PayingViewer;
      const next = await socketOf(r);
      // Both fired before either is answered; the order they reach the server varies with the iteration.
      const racing =
        i % 2 === 0
          ? [call(current.socket, 'viewer:leave', {}), joinOn(next, r)]
          : [joinOn(next, r), call(current.socket, 'viewer:leave', {})];
      const answers = await Promise.all(racing);
      const join = (i % 2 === 0 ? answers[1] : answers[0]) as AckJson;
      const leave = (i % 2 === 0 ? answers[0] : answers[1]) as AckJson;
      // The leave either closed the session (then the join reopened it) or found it taken over (nothing to leave).
      if (!leave.ok) expect(leave.code).toBe('BAD_REQUEST');
      await attachedOrClosed('leave × rejoin', r, next, join);
      if (!join.ok) {
        // Closed: the next iteration starts from a fresh join.
        await joinedOn(r, next);
      }
      current.socket.close();
    }
    await callOk((r.viewer as PayingViewer).socket, 'viewer:leave', {});
    await closedEverywhere(r, r.viewer?.hlsToken ?? r.hlsToken);
  });

  it('a join on a new socket racing the disconnect of the old one: attached to the new socket and ticking', async () => {
    const r = await newRacer(live.wallets.charlie);
    const first = await socketOf(r);
    await joinedOn(r, first);
    for (let i = 0; i < ITERATIONS; i++) {
      const current = r.viewer as PayingViewer;
      const next = await socketOf(r);
      const joining = joinOn(next, r);
      current.socket.disconnect();
      await attachedOrClosed('join × old socket disconnect', r, next, await joining);
    }
    await callOk((r.viewer as PayingViewer).socket, 'viewer:leave', {});
  });

  it('a join whose own socket disconnects while it is answered: closed after the reconnect grace, served nowhere', async () => {
    for (let i = 0; i < ITERATIONS / 2; i++) {
      const r = await newRacer(i % 2 === 0 ? live.wallets.dave : live.wallets.eve);
      const v = await socketOf(r);
      // The answer never comes (the socket is gone): fired and forgotten.
      void joinOn(v, r);
      await sleep(i * 50);
      v.socket.disconnect();
      // Admitted or not, nobody answers on it: after the grace the session is nowhere (bound: the grace, 2 s, plus the
      // lifecycle lock's queue; waited for generously).
      await vi.waitFor(() => expect(live.viewers().viewer(r.session.sessionId)).toBeUndefined(), {
        timeout: (RECONNECT_GRACE_SECONDS + 30) * 1000,
        interval: 100,
      });
      const row = await live.ledger().session(r.session.sessionId);
      // Never admitted (the disconnect came first) or closed at the grace's end.
      expect(row === undefined || row.status === 'closed').toBe(true);
      expect(live.viewers().meter.has(r.session.sessionId)).toBe(false);
      expect(live.sfu.getRoom(streamId)?.hlsViewerIds).not.toContain(r.session.sessionId);
      count('join × own disconnect', false);
    }
  });

  it('the reconnect grace expiring as the viewer rejoins: attached and ticking, or closed and served nowhere', async () => {
    const r = await newRacer(live.wallets.ferdie);
    const first = await socketOf(r);
    await joinedOn(r, first);
    for (let i = 0; i < ITERATIONS; i++) {
      const current = r.viewer as PayingViewer;
      const next = await socketOf(r);
      current.socket.disconnect();
      // Around the grace's end as the server counts it (its timer starts as it handles the disconnect): from 300 ms
      // before to 400 ms after.
      await sleep(RECONNECT_GRACE_SECONDS * 1000 - 300 + i * 100);
      await attachedOrClosed('grace expiry × reconnect', r, next, await joinOn(next, r));
      if (!r.viewer || r.viewer !== next) {
        await joinedOn(r, next);
      }
    }
    await callOk((r.viewer as PayingViewer).socket, 'viewer:leave', {});
  });
});
