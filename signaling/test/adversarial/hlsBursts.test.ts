// Issue 19, attack 3 — HLS bursts: a player fetches segments in bursts and rejoins (same session, a new socket) right
// after each, or leaves right after a burst, hoping the delivered-but-not-yet-charged credit is reset or dropped. Every
// segment served must be charged: the ledger's watched seconds equal the media seconds delivered (within the one
// second a partial segment rounds up to). Real clients (socket.io-client, plain HTTP to the HLS edge child) on the real
// stack (dev chain, mediasoup, ffmpeg, PGlite).
import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LiveStream, PaidSession } from '../support/liveStream.ts';
import { PayingViewer } from '../support/liveStream.ts';
import { callOk } from '../viewers-support.ts';
import { freshWallet, liveStreamOf, metric, NO_SETTLEMENT_ENV, sessionWith } from './viewerAttacks.ts';

const PRICE = 1_000_000n;
const SEGMENT_SECONDS = 1;
/** Segments per burst: within one player's worth the edge serves at once (capacity 4 × segment + 2 s, FetchPolicy). */
const BURST = 4;
const BURSTS = 4;
/** Sessions that each fetch one burst and leave at once. */
const LEAVERS = 3;
/** Short, so a session whose socket vanished closes within the test (viewers config RECONNECT_GRACE_SECONDS). */
const RECONNECT_GRACE_SECONDS = 2;

/** An HLS player of one session: its socket acknowledges every tick; fetches use the newest token it was given. */
class BurstPlayer {
  readonly fetched = new Set<string>();
  served = 0;
  viewer: PayingViewer;
  playlistUrl = '';

  constructor(
    readonly live: LiveStream,
    readonly wallet: KeyringPair,
    readonly streamId: string,
    readonly session: PaidSession,
    socket: Socket,
  ) {
    this.viewer = new PayingViewer(socket, live.client.facts.genesisHash, streamId, session);
  }

  /** Joins (or rejoins) the session on `socket` over HLS; its admission token replaces the old one. */
  async join(socket: Socket): Promise<void> {
    const admission = await callOk(socket, 'viewer:join', {
      streamId: this.streamId,
      mode: 'hls',
      session: this.session.payload,
    });
    if (socket !== this.viewer.socket)
      this.viewer = new PayingViewer(socket, this.viewer.genesisHash, this.streamId, this.session);
    this.viewer.hlsToken = admission.token as string;
    this.playlistUrl = admission.playlistUrl as string;
  }

  #url(file?: string): string {
    const url = file ? this.playlistUrl.replace(/[^/]+$/, file) : this.playlistUrl;
    return `${url}?token=${encodeURIComponent(this.viewer.hlsToken ?? '')}`;
  }

  /** Segments listed and not fetched yet, oldest first (a playlist costs nothing). */
  async unfetched(): Promise<string[]> {
    const res = await fetch(this.#url());
    const text = await res.text();
    if (res.status !== 200) return [];
    return text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#') && !this.fetched.has(l));
  }

  /** Waits until `n` new segments are listed, then fetches them back to back; the number served. */
  async burst(n: number): Promise<number> {
    let files: string[] = [];
    await vi.waitFor(
      async () => {
        files = await this.unfetched();
        expect(files.length).toBeGreaterThanOrEqual(n);
      },
      { timeout: 60_000, interval: 250 },
    );
    let served = 0;
    for (const file of files.slice(-n)) {
      const res = await fetch(this.#url(file));
      await res.arrayBuffer();
      this.fetched.add(file);
      if (res.status === 200) served++;
    }
    this.served += served;
    return served;
  }

  /** Media seconds served to this session. */
  get deliveredSeconds(): number {
    return this.served * SEGMENT_SECONDS;
  }
}

describe('HLS bursts: every segment delivered is charged, across rejoins and a leave right after a burst', () => {
  let live: LiveStream;
  let streamId: string;

  const newPlayer = async (fundFrom: KeyringPair): Promise<BurstPlayer> => {
    const wallet = await freshWallet(live, fundFrom);
    const session = sessionWith(live, wallet, streamId);
    await live.fund(wallet, session);
    const socket = await live.open(wallet);
    const player = new BurstPlayer(live, wallet, streamId, session, socket);
    await player.join(socket);
    return player;
  };

  /** The ledger's watched seconds of a closed session (what it was charged). */
  const chargedSeconds = async (sessionId: string): Promise<number> => {
    const row = await live.ledger().session(sessionId);
    expect(row?.status).toBe('closed');
    expect(row?.owed).toBe(BigInt(row?.watchedSeconds ?? 0) * PRICE);
    return row?.watchedSeconds ?? -1;
  };

  beforeAll(async () => {
    ({ live, streamId } = await liveStreamOf('HLS bursts', PRICE, {
      sfuEnv: { HLS_SEGMENT_SECONDS: String(SEGMENT_SECONDS) },
      viewersEnv: {
        ...NO_SETTLEMENT_ENV,
        RECONNECT_GRACE_SECONDS: String(RECONNECT_GRACE_SECONDS),
      },
    }));
  });

  afterAll(async () => {
    await live?.close();
  });

  it('bursts, each followed by a rejoin on a new socket, then a leave: charged every second delivered', async () => {
    const reportedBefore = await metric(live, 'signaling_hls_edge_delivered_seconds_total');
    const player = await newPlayer(live.wallets.bob);
    for (let i = 0; i < BURSTS; i++) {
      expect(await player.burst(BURST)).toBeGreaterThan(0);
      if (i === BURSTS - 1) break;
      // Right after the burst: the same session on a new socket, the old one closed.
      const old = player.viewer.socket;
      await player.join(await live.open(player.wallet));
      old.close();
    }
    const left = await callOk(player.viewer.socket, 'viewer:leave', {});
    const delivered = player.deliveredSeconds;
    // The edge reported every second it served (in batches every 250 ms).
    await vi.waitFor(
      async () =>
        expect((await metric(live, 'signaling_hls_edge_delivered_seconds_total')) - reportedBefore).toBe(delivered),
      { timeout: 20_000, interval: 100 },
    );
    const charged = await chargedSeconds(player.session.sessionId);
    console.info(`bursts with rejoins: ${delivered} s delivered, ${charged} s charged`);
    expect(BigInt(left.owed as string)).toBe(BigInt(charged) * PRICE);
    // Bound: every delivered second charged, at most one more (a partial second rounds up when the session ends).
    expect(charged).toBeGreaterThanOrEqual(delivered);
    expect(charged).toBeLessThanOrEqual(delivered + 1);
  });

  it('a burst then a leave at once, session after session: charged every second delivered', async () => {
    const funders = [live.wallets.charlie, live.wallets.dave, live.wallets.eve];
    const results: { delivered: number; charged: number }[] = [];
    for (let i = 0; i < LEAVERS; i++) {
      const player = await newPlayer(funders[i % funders.length] as KeyringPair);
      await player.burst(BURST);
      // No pause between the last segment's body and the leave: deliveries the edge has not reported yet are due.
      await callOk(player.viewer.socket, 'viewer:leave', {});
      // Left: the edge refuses the session (told over IPC as the leave is answered).
      await vi.waitFor(
        async () => {
          const after = await fetch(`${player.playlistUrl}?token=${encodeURIComponent(player.viewer.hlsToken ?? '')}`);
          await after.arrayBuffer();
          expect(after.status).toBe(401);
        },
        { timeout: 20_000, interval: 50 },
      );
      // Whatever the edge reports late cannot change a closed session: read it once the edge has reported.
      await sleep(1_000);
      results.push({ delivered: player.deliveredSeconds, charged: await chargedSeconds(player.session.sessionId) });
    }
    console.info(`burst then leave: ${JSON.stringify(results)}`);
    for (const r of results) {
      expect(r.delivered).toBeGreaterThan(0);
      expect(r.charged).toBeGreaterThanOrEqual(r.delivered);
      expect(r.charged).toBeLessThanOrEqual(r.delivered + 1);
    }
  });

  it('a burst then the socket vanishes (no leave): charged every second delivered when the reconnect grace ends', async () => {
    const player = await newPlayer(live.wallets.ferdie);
    await player.burst(BURST);
    player.viewer.socket.disconnect();
    // Closed by the grace's expiry (RECONNECT_GRACE_SECONDS), waited for generously.
    await vi.waitFor(
      async () => expect((await live.ledger().session(player.session.sessionId))?.status).toBe('closed'),
      {
        timeout: (RECONNECT_GRACE_SECONDS + 30) * 1000,
        interval: 100,
      },
    );
    const charged = await chargedSeconds(player.session.sessionId);
    console.info(`burst then disconnect: ${player.deliveredSeconds} s delivered, ${charged} s charged`);
    expect(charged).toBeGreaterThanOrEqual(player.deliveredSeconds);
    expect(charged).toBeLessThanOrEqual(player.deliveredSeconds + 1);
  });
});
