// The HLS command of the payment model: a player's burst of fetches with its session's token, every segment served
// reaching the session's account.
import { expect, vi } from 'vitest';
import { call } from '../../viewers-support.ts';
import { attachedOf, type Cmd, type RunModel } from './model.ts';
import type { PaymentModelStack } from './stack.ts';

/** A burst of HLS fetches with the session's token: a fresh token first, then the playlist and its segments. */
export class HlsBurst implements Cmd {
  constructor(
    readonly actor: number,
    readonly segments: number,
  ) {}
  check(m: Readonly<RunModel>): boolean {
    return attachedOf(m, this.actor)?.s.mode === 'hls';
  }
  async run(m: RunModel, r: PaymentModelStack): Promise<void> {
    const { a, s, c } = attachedOf(m, this.actor) as NonNullable<ReturnType<typeof attachedOf>>;
    const snapshot = () => r.viewers().viewer(s.session.sessionId);
    const paused = () => snapshot()?.paused;
    const wasPaused = paused();
    // Metered and still to meter: each HLS segment served adds its seconds, each tick moves one from one to the other.
    const delivered = () => (snapshot()?.watchedSeconds ?? 0) + (snapshot()?.hlsCredit ?? 0);
    const before = delivered();
    const fresh = await call(c.socket, 'hls:token', {});
    if (fresh.ok) c.hlsToken = fresh.hlsToken as string;
    else if (fresh.code === 'PAYMENT_REQUIRED') expect(wasPaused ?? paused()).toBeDefined();
    else expect(fresh.code).toBe('RATE_LIMITED');
    const url = a.playlistUrl as string;
    const get = (file?: string) =>
      fetch(`${file ? url.replace(/[^/]+$/, file) : url}?token=${encodeURIComponent(c.hlsToken ?? '')}`);
    let playlist = await get();
    // The relay needs a few seconds for its first playlist; a held viewer gets 402 (or 401 once its token expired).
    const deadline = Date.now() + 20_000;
    while (playlist.status === 404 && Date.now() < deadline) {
      await playlist.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 250));
      playlist = await get();
    }
    const text = await playlist.text();
    if (playlist.status !== 200) {
      expect([401, 402]).toContain(playlist.status);
      if (playlist.status === 402) expect(paused()).toBeDefined();
      if (playlist.status === 401) expect(fresh.ok && !paused()).toBe(false);
      return;
    }
    const files = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    let served = 0;
    for (const file of files.slice(-this.segments)) {
      const res = await get(file);
      await res.arrayBuffer();
      // 404: deleted since the playlist was read; 429: beyond one player's worth; 402: held meanwhile.
      expect([200, 402, 404, 429]).toContain(res.status);
      if (res.status === 402) expect(paused()).toBeDefined();
      if (res.status === 200) served += m.hlsSegmentSeconds;
    }
    s.hlsServed += served;
    // Every segment served reaches the session's account (the edge reports every 250 ms).
    await vi.waitFor(() => expect(delivered()).toBeGreaterThanOrEqual(before + served - 1e-6), {
      timeout: 15_000,
      interval: 50,
    });
  }
  toString(): string {
    return `HlsBurst(${this.actor}, ${this.segments})`;
  }
}
