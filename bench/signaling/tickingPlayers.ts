// The HLS players of a viewer process of the ticking bench, on a worker thread of their own (as a browser fetches and
// demuxes off the page's main thread): reading ~23 KB/s of segments per viewer allocates enough to trigger full
// collections, which on the sockets' thread held every voucher of the process behind them. The sockets' thread
// (tickingViewers.ts) starts and stops players and passes renewed tokens; a refused token is asked for again there.
// HTTP goes through `node:http` with one keep-alive agent (undici `fetch` and its web streams cost the clients more
// CPU than the edge spends serving), and segment bodies are read in full but counted, not kept.
import { Agent, get } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import type { FromPlayers, PlayerStats, ToPlayers } from './tickingProtocol.ts';

const port = parentPort;
if (!port) throw new Error('tickingPlayers.ts runs as a worker thread');
const { fetchEveryMs } = workerData as { fetchEveryMs: number };
const send = (m: FromPlayers) => port.postMessage(m);

/**
 * Connections to the HLS edge, pooled as a browser pools them per origin; idle ones are dropped after 4 s, before
 * the edge's keep-alive timeout (Node's default 5 s) could reset one being reused.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo', timeout: 4_000 });

/** A GET over the keep-alive agent: the body read to its end, kept as text only when `keep` (playlists). */
function httpGet(url: string, keep: boolean): Promise<{ status: number; body: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (keep) chunks.push(chunk);
      });
      res.once('end', () =>
        resolve({ status: res.statusCode ?? 0, body: keep ? Buffer.concat(chunks).toString('utf8') : '', bytes }),
      );
      res.once('error', reject);
    });
    req.once('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error('HLS fetch timed out')));
  });
}

const emptyStats = (): PlayerStats => ({ fetchStatuses: {}, fetchMs: [], segments: 0, segmentBytes: 0 });
let stats = emptyStats();
let recording = false;
const bump = (rec: Record<string, number>, key: string) => {
  rec[key] = (rec[key] ?? 0) + 1;
};

/**
 * One viewer's player: every `fetchEveryMs` the media playlist (the first variant of a master playlist, as a player
 * starting on the ladder's first rendition), then each segment it lists not fetched yet.
 */
class Player {
  /** Segments already fetched: the server charges HLS viewers per segment delivered, as a player fetches them. */
  readonly #segments = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #startedAt = performance.now();
  /** The first fetch outcomes (`status@ms after start`), to tell why a viewer never ticks. */
  readonly firstFetches: string[] = [];

  constructor(
    readonly id: string,
    readonly playlist: string,
    public token: string,
  ) {
    // Players are not in step: the first fetch at once, the next ones at a random phase of the period.
    void this.#fetch();
    this.#timer = setTimeout(() => this.#loop(), Math.random() * fetchEveryMs);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #loop(): void {
    if (this.#closed) return;
    void this.#fetch();
    this.#timer = setTimeout(() => this.#loop(), fetchEveryMs);
  }

  /** The media playlist: the stream's playlist, or the first variant its master playlist lists (the HLS ladder). */
  #media: string | undefined;

  async #fetch(): Promise<void> {
    const t0 = performance.now();
    try {
      let res = await httpGet(`${this.#media ?? this.playlist}?token=${encodeURIComponent(this.token)}`, true);
      if (res.status === 200 && this.#media === undefined) {
        const variant = res.body.includes('#EXT-X-STREAM-INF')
          ? res.body
              .split('\n')
              .map((l) => l.trim())
              .find((l) => l !== '' && !l.startsWith('#'))
          : undefined;
        this.#media = variant ? this.playlist.replace(/[^/]+$/, variant) : this.playlist;
        if (variant) res = await httpGet(`${this.#media}?token=${encodeURIComponent(this.token)}`, true);
      }
      // A lapsed token is renewed on request, as the dapp's player does (by the sockets' thread).
      if (res.status === 401) send({ type: 'need-token', id: this.id });
      if (res.status === 200) {
        for (const line of res.body.split('\n')) {
          const file = line.trim();
          if (file === '' || file.startsWith('#') || this.#segments.has(file)) continue;
          const segment = await httpGet(
            `${(this.#media ?? this.playlist).replace(/[^/]+$/, file)}?token=${encodeURIComponent(this.token)}`,
            false,
          );
          if (segment.status !== 200) continue;
          this.#segments.add(file);
          if (recording) {
            stats.segments++;
            stats.segmentBytes += segment.bytes;
          }
        }
        // Only the names still listed can come again: the set stays as small as the playlist.
        if (this.#segments.size > 32) {
          const listed = new Set(res.body.split('\n').map((l) => l.trim()));
          for (const f of this.#segments) if (!listed.has(f)) this.#segments.delete(f);
        }
      }
      if (this.firstFetches.length < 6)
        this.firstFetches.push(`${res.status}@${Math.round(performance.now() - this.#startedAt)}`);
      if (recording) {
        bump(stats.fetchStatuses, String(res.status));
        stats.fetchMs.push(performance.now() - t0);
      }
    } catch (err) {
      if (this.firstFetches.length < 6) this.firstFetches.push((err as Error).name);
      if (recording && !this.#closed) bump(stats.fetchStatuses, (err as Error).name);
    }
  }
}

const players = new Map<string, Player>();

port.on('message', (m: ToPlayers) => {
  switch (m.type) {
    case 'play':
      players.get(m.id)?.close();
      players.set(m.id, new Player(m.id, m.playlist, m.token));
      return;
    case 'token': {
      const p = players.get(m.id);
      if (p) p.token = m.token;
      return;
    }
    case 'stop':
      players.get(m.id)?.close();
      players.delete(m.id);
      return;
    case 'window-start':
      stats = emptyStats();
      recording = true;
      return;
    case 'window-end':
      recording = false;
      send({ type: 'window', stats });
      stats = emptyStats();
      return;
    case 'first-fetches':
      send({
        type: 'first-fetches',
        fetches: Object.fromEntries(m.ids.map((id) => [id, players.get(id)?.firstFetches ?? []])),
      });
      return;
    case 'close':
      for (const p of players.values()) p.close();
      players.clear();
      agent.destroy();
      port.close();
      return;
  }
});
