import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { signVoucher } from '@persecond/contracts-client';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Tick } from '../src/index.ts';
import { liveStreamOf, NO_SETTLEMENT_ENV } from './adversarial/viewerAttacks.ts';
import type { LiveStream, PaidSession } from './support/liveStream.ts';
import { type AckJson, call, callOk } from './viewers-support.ts';

const PRICE = 1_000_000n;
const SEGMENT_SECONDS = 1;
const TOKEN_TTL_SECONDS = 4;

/** Pids of the HLS edge child processes of this process (the signaling server runs in it). */
function edgeChildren(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid !== process.pid) return [];
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('hlsEdge/main.ts') ? [Number(d)] : [];
      } catch {
        return [];
      }
    });
}

/** An HLS viewer: its socket acks every tick (unless told not to) and its player fetches with the newest token. */
class HlsViewer {
  readonly ticks: Tick[] = [];
  autoAck = true;
  token: string;
  readonly playlistUrl: string;

  constructor(
    readonly socket: Socket,
    readonly genesisHash: string,
    readonly streamId: string,
    readonly session: PaidSession,
    admission: AckJson,
  ) {
    this.token = admission.token as string;
    this.playlistUrl = admission.playlistUrl as string;
    socket.on('tick', (t: Tick) => {
      this.ticks.push(t);
      if (typeof t.hlsToken === 'string') this.token = t.hlsToken;
      if (this.autoAck) void this.ack(t);
    });
  }

  async ack(t: Tick): Promise<AckJson> {
    const voucher = {
      genesisHash: this.genesisHash,
      streamId: this.streamId,
      sessionId: this.sessionId,
      seq: t.seq,
      owed: BigInt(t.owed),
    };
    return call(this.socket, 'tick:ack', {
      seq: t.seq,
      owed: t.owed,
      signature: signVoucher(this.session.key, voucher),
    });
  }

  /**
   * GETs the playlist (or a file next to it) with the current token; with `renew`, a refused (lapsed) token is
   * renewed with `hls:token` and the request tried again, as the dapp's player does.
   */
  async fetch(file?: string, renew = true): Promise<Response> {
    const url = file ? this.playlistUrl.replace(/[^/]+$/, file) : this.playlistUrl;
    const res = await fetch(`${url}?token=${encodeURIComponent(this.token)}`);
    if (res.status !== 401 || !renew) return res;
    await res.arrayBuffer();
    const renewed = await call(this.socket, 'hls:token', {});
    if (typeof renewed.hlsToken === 'string') this.token = renewed.hlsToken;
    return fetch(`${url}?token=${encodeURIComponent(this.token)}`);
  }

  /** The segment names of the current playlist. */
  async segments(): Promise<string[]> {
    const res = await this.fetch();
    if (res.status !== 200) {
      await res.arrayBuffer();
      return [];
    }
    return (await res.text()).split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  }

  get sessionId(): string {
    return this.session.sessionId;
  }

  get watchedSeconds(): number {
    return this.ticks.at(-1)?.watchedSeconds ?? 0;
  }
}

describe('HLS viewers: metered by segments delivered, tokens renewed on request', () => {
  let live: LiveStream;
  let streamId: string;

  const viewers = () => live.viewers();

  /** A funded session of `wallet`, joined over HLS on a new socket. */
  const joinHls = async (wallet: KeyringPair): Promise<HlsViewer> => {
    const session = live.newSession(wallet, streamId);
    await live.fund(wallet, session);
    const socket = await live.open(wallet);
    const admission = await callOk(socket, 'viewer:join', { streamId, mode: 'hls', session: session.payload });
    // Served by the HLS edge child process, on a port of its own.
    const edgeUrl = new URL(admission.playlistUrl as string);
    expect(edgeUrl.origin).not.toBe(live.server.url);
    expect(edgeUrl.pathname).toBe(`/hls/${streamId}/index.m3u8`);
    return new HlsViewer(socket, live.client.facts.genesisHash, streamId, session, admission);
  };

  beforeAll(async () => {
    // Payment windows wide enough that no settlement is needed; vouchers still within 3 ticks.
    ({ live, streamId } = await liveStreamOf('HLS metering', PRICE, {
      sfuEnv: { HLS_SEGMENT_SECONDS: String(SEGMENT_SECONDS) },
      viewersEnv: { ...NO_SETTLEMENT_ENV, HLS_TOKEN_TTL_SECONDS: String(TOKEN_TTL_SECONDS) },
    }));
  });

  afterAll(async () => {
    await live?.close();
  });

  it('charges the seconds of segments delivered: playlist polls credit nothing, a repeated segment is charged again', async () => {
    const v = await joinHls(live.wallets.bob);
    // The relay needs a few seconds for its first segments.
    await vi.waitFor(async () => expect((await v.segments()).length).toBeGreaterThanOrEqual(2), {
      timeout: 60_000,
      interval: 500,
    });
    // Playlist polls only, for longer than the old 6-second freshness window: never charged.
    for (let i = 0; i < 12; i++) {
      expect((await v.segments()).length).toBeGreaterThan(0);
      await sleep(500);
    }
    expect(v.ticks).toEqual([]);
    expect(viewers().viewer(v.sessionId)).toMatchObject({ watchedSeconds: 0 });

    // Two segments fetched, one of them twice: three segments' worth of seconds (the edge cannot tell a retry from a
    // second player on the token: every segment served is charged), then nothing more.
    const [first, second] = (await v.segments()).slice(-2) as [string, string];
    for (const file of [first, second, first]) {
      const res = await v.fetch(file);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('video/mp2t');
      await res.arrayBuffer();
    }
    const delivered = 3 * SEGMENT_SECONDS;
    await vi.waitFor(() => expect(v.watchedSeconds).toBe(delivered), { timeout: 30_000, interval: 100 });
    // Keep polling the playlist: the credit is spent, so no further second is charged.
    for (let i = 0; i < 8; i++) {
      await (await v.fetch()).arrayBuffer();
      await sleep(500);
    }
    expect(v.watchedSeconds).toBe(delivered);
    expect(v.ticks.map((t) => t.seq)).toEqual([1, 2, 3]);
    expect(viewers().viewer(v.sessionId)).toMatchObject({ watchedSeconds: delivered, paused: undefined });

    // A player following the live edge is charged about as many seconds as it received.
    const fetched = new Set([first, second]);
    const until = Date.now() + 6_000;
    while (Date.now() < until) {
      for (const file of await v.segments()) {
        if (fetched.has(file)) continue;
        const res = await v.fetch(file);
        if (res.status === 200) fetched.add(file);
        await res.arrayBuffer();
      }
      await sleep(300);
    }
    // Every segment served once, and the first one a second time.
    const total = (fetched.size + 1) * SEGMENT_SECONDS;
    await vi.waitFor(() => expect(v.watchedSeconds).toBe(total), { timeout: 30_000, interval: 100 });
    expect(v.ticks.map((t) => t.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    await callOk(v.socket, 'viewer:leave', {});
  });

  it('renews an HLS token on request (hls:token) while admitted and current: a lapsed token is not fatal', async () => {
    // Another wallet: the first test's session left acknowledged seconds unsettled.
    const notJoined = await live.open(live.wallets.charlie);
    expect(await call(notJoined, 'hls:token', {})).toMatchObject({ ok: false, code: 'BAD_REQUEST' });

    const v = await joinHls(live.wallets.charlie);
    // Never ticked (nothing fetched yet), the admission token lapses.
    await sleep(TOKEN_TTL_SECONDS * 1000 + 500);
    const lapsed = await v.fetch(undefined, false);
    expect(lapsed.status).toBe(401);
    await lapsed.arrayBuffer();
    const renewed = await callOk(v.socket, 'hls:token', {});
    expect(typeof renewed.hlsToken).toBe('string');
    v.token = renewed.hlsToken as string;
    const ok = await v.fetch(undefined, false);
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();

    // Rate-limited per socket.
    const answers: AckJson[] = [];
    for (let i = 0; i < 12; i++) {
      const answer = await call(v.socket, 'hls:token', {});
      if (typeof answer.hlsToken === 'string') v.token = answer.hlsToken;
      answers.push(answer);
    }
    expect(answers.filter((a) => a.ok).length).toBeGreaterThan(0);
    expect(answers.at(-1)).toMatchObject({ ok: false, code: 'RATE_LIMITED' });

    // Behind on vouchers: paused, and no token on request.
    v.autoAck = false;
    const fetched = new Set<string>();
    await vi.waitFor(
      async () => {
        for (const file of await v.segments()) {
          if (fetched.has(file)) continue;
          fetched.add(file);
          await (await v.fetch(file)).arrayBuffer();
        }
        expect(viewers().viewer(v.sessionId)?.paused).toBe('voucher-lag');
      },
      { timeout: 30_000, interval: 300 },
    );
    // Past the rate limit's window, the refusal is the payment one.
    await vi.waitFor(
      async () => expect(await call(v.socket, 'hls:token', {})).toMatchObject({ ok: false, code: 'PAYMENT_REQUIRED' }),
      { timeout: 30_000, interval: 2_000 },
    );
    await callOk(v.socket, 'viewer:leave', {});
    expect(await call(v.socket, 'hls:token', {})).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
  });

  it('keeps serving an HLS viewer when the edge child is SIGKILLed mid-stream: restarted, fetches succeed, metering goes on', async () => {
    const reportedSeconds = async () => {
      const text = await (await fetch(`${live.server.url}/metrics`)).text();
      return Number(/^signaling_hls_edge_delivered_seconds_total (\S+)$/m.exec(text)?.[1] ?? 0);
    };
    const reportedBefore = await reportedSeconds();
    const v = await joinHls(live.wallets.dave);
    const fetched = new Set<string>();
    /** Fetches the segments of the current playlist not fetched yet; the number delivered. */
    const follow = async (): Promise<number> => {
      let delivered = 0;
      for (const file of await v.segments()) {
        if (fetched.has(file)) continue;
        const res = await v.fetch(file);
        if (res.status === 200) {
          fetched.add(file);
          delivered++;
        }
        await res.arrayBuffer();
      }
      return delivered;
    };
    await vi.waitFor(async () => expect(await follow()).toBeGreaterThan(0), { timeout: 60_000, interval: 300 });
    await vi.waitFor(() => expect(v.watchedSeconds).toBeGreaterThan(0), { timeout: 30_000, interval: 100 });

    // Deliveries reach the parent every 250 ms, and a SIGKILLed edge loses what it had not reported yet (the viewer is
    // undercharged, never overcharged): kill it once every segment fetched so far has been reported.
    await vi.waitFor(
      async () => expect((await reportedSeconds()) - reportedBefore).toBe(fetched.size * SEGMENT_SECONDS),
      { timeout: 30_000, interval: 100 },
    );
    const [edge, ...others] = edgeChildren();
    expect(edge).toBeDefined();
    expect(others).toEqual([]);
    process.kill(edge as number, 'SIGKILL');
    // Back on the same URL with the viewer still allowed: new segments are served and charged again.
    const before = fetched.size;
    await vi.waitFor(
      async () => {
        await follow().catch(() => 0);
        expect(fetched.size).toBeGreaterThan(before);
      },
      { timeout: 30_000, interval: 300 },
    );
    const [restarted] = edgeChildren();
    expect(restarted).toBeDefined();
    expect(restarted).not.toBe(edge);
    await vi.waitFor(() => expect(v.watchedSeconds).toBe(fetched.size * SEGMENT_SECONDS), {
      timeout: 30_000,
      interval: 100,
    });
    const metrics = await (await fetch(`${live.server.url}/metrics`)).text();
    expect(metrics).toMatch(/^signaling_hls_edge_restarts_total 1$/m);
    await callOk(v.socket, 'viewer:leave', {});
    // Left: the edge refuses the session (told over IPC as the leave is answered).
    await vi.waitFor(
      async () => {
        const after = await v.fetch(undefined, false);
        await after.arrayBuffer();
        expect(after.status).toBe(401);
      },
      { timeout: 20_000, interval: 50 },
    );
  });

  it('stops the edge child with the server (twice without harm)', async () => {
    expect(edgeChildren()).toHaveLength(1);
    for (const s of live.sockets) s.close();
    await live.server.close();
    await live.server.close();
    expect(edgeChildren()).toEqual([]);
  });
});
