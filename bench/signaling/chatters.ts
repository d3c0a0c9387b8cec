// A chatter process of the chat bench (forked by bench/signaling/chat.ts, driven over IPC): signs its wallets in, one
// Socket.IO connection each, joins the stream's chat with all of them, sends messages and reaction presses at the
// rates it is given (spread over its chatters in turn) and times every message (`chat:messages` batches; a chatter's
// own messages aside) and `chat:reactions` each of its chatters receives.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DEV_PHRASE, Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import type { Socket } from 'socket.io-client';
import { CHAT_REACTIONS, type ChatMessageBatch, type ChatReactionCounts } from '../../signaling/src/protocol.ts';
import { openSocket, verifySignIn } from '../../signaling/test/support/clients.ts';
import {
  type ChatWindowStats,
  type FromChatters,
  LATENCY_BUCKET_MS,
  LATENCY_BUCKETS,
  type SparseHistogram,
  type ToChatters,
} from './chatProtocol.ts';

type Init = Extract<ToChatters, { type: 'init' }>;
interface Ack {
  ok: boolean;
  code?: string;
}

const send = (m: FromChatters) => process.send?.(m);
/** Wall-clock time in ms with sub-ms resolution: the clock every process of the bench (and the server) reads. */
const now = () => performance.timeOrigin + performance.now();
/** Texts of bench messages: `bench <process>:<seq> <send time>`. */
const TEXT = /^bench \S+ (\d+(?:\.\d+)?)$/;

/** Latency counts in fixed buckets. */
class Histogram {
  readonly #counts = new Uint32Array(LATENCY_BUCKETS);

  add(ms: number): void {
    const i = Math.min(LATENCY_BUCKETS - 1, Math.max(0, Math.floor(ms / LATENCY_BUCKET_MS)));
    this.#counts[i] = (this.#counts[i] ?? 0) + 1;
  }

  sparse(): SparseHistogram {
    const out: SparseHistogram = [];
    for (const [i, n] of this.#counts.entries()) if (n) out.push([i, n]);
    return out;
  }
}

let init: Init;
const sockets: Socket[] = [];
let window = { from: Number.POSITIVE_INFINITY, to: Number.NEGATIVE_INFINITY };
const inWindow = (t: number) => t >= window.from && t < window.to;
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();

function freshStats() {
  return {
    messagesSent: 0,
    refused: {} as Record<string, number>,
    reactionsSent: 0,
    reactionsRefused: {} as Record<string, number>,
    messagesReceived: 0,
    messageLatency: new Histogram(),
    ackLatency: new Histogram(),
    reactionEventsReceived: 0,
    reactionPressesReceived: 0,
    reactionLatency: new Histogram(),
  };
}
let stats = freshStats();
/** Sends and presses of the window not answered yet. */
let unanswered = 0;
const bump = (rec: Record<string, number>, key: string) => {
  rec[key] = (rec[key] ?? 0) + 1;
};

/** Records what one chatter's socket (wallet `address`) receives; its own messages (it had them in the ack) aside. */
function listen(socket: Socket, address: string): void {
  socket.on('chat:messages', (batch: ChatMessageBatch) => {
    const at = now();
    for (const m of batch.messages) {
      if (m.sender === address) continue;
      const sentAt = Number(TEXT.exec(m.text)?.[1]);
      if (!inWindow(sentAt)) continue;
      stats.messagesReceived++;
      stats.messageLatency.add(at - sentAt);
    }
  });
  socket.on('chat:reactions', (r: ChatReactionCounts) => {
    const at = now();
    if (!inWindow(r.at)) return;
    stats.reactionEventsReceived++;
    for (const n of Object.values(r.counts)) stats.reactionPressesReceived += n ?? 0;
    stats.reactionLatency.add(at - r.at);
  });
}

async function joinAll(m: Init): Promise<void> {
  const t0 = performance.now();
  const failed: Record<string, number> = {};
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  // Derived from the dev phrase's root pair made once (addFromUri would run the phrase's PBKDF2 for each wallet).
  const devRoot: KeyringPair = keyring.addFromUri(DEV_PHRASE);
  let next = 0;
  const lane = async () => {
    while (next < m.count) {
      const g = m.first + next++;
      try {
        const pair = devRoot.derive(`//PersecondChatter${g}`);
        const verified = await verifySignIn(m.url, pair);
        if (!verified.body.ok) throw new Error(`sign-in refused: ${verified.body.code}`);
        const socket = await openSocket(m.url, verified.body.token as string);
        // The server names senders in the chain's address format, not the keyring's: its own form excludes its own.
        listen(socket, verified.body.address as string);
        const res: Ack = await socket.emitWithAck('chat:join', { streamId: m.streamId });
        if (!res.ok) {
          bump(failed, res.code ?? 'unknown');
          socket.close();
        } else sockets.push(socket);
      } catch (err) {
        bump(failed, (err as Error).message.slice(0, 80));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(m.concurrency, m.count) }, lane));
  send({ type: 'initialized', ok: sockets.length, failed, ms: Math.round(performance.now() - t0) });
}

/** Sends at the given rates: every 10 ms, what is due since the rates were set, each from the next chatter. */
class Traffic {
  #timer: NodeJS.Timeout | undefined;
  #messageCursor = 0;
  #reactionCursor = 0;
  #seq = 0;

  set(messagesPerSecond: number, reactionsPerSecond: number): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (messagesPerSecond <= 0 && reactionsPerSecond <= 0) return;
    const t0 = performance.now();
    let messages = 0;
    let reactions = 0;
    this.#timer = setInterval(() => {
      const elapsed = (performance.now() - t0) / 1000;
      for (; messages < Math.floor(elapsed * messagesPerSecond); messages++) this.#message();
      for (; reactions < Math.floor(elapsed * reactionsPerSecond); reactions++) this.#reaction();
    }, 10);
  }

  #message(): void {
    // Chatters in turn, so each wallet's rate is the process's rate over its chatters (within the server's limits).
    const socket = sockets[this.#messageCursor++ % sockets.length] as Socket;
    const sentAt = now();
    const text = `bench ${process.pid}:${++this.#seq} ${sentAt.toFixed(3)}`;
    const counted = inWindow(sentAt);
    if (counted) unanswered++;
    socket.emit('chat:send', { streamId: init.streamId, text }, (res: Ack) => {
      if (!counted) return;
      unanswered--;
      if (res.ok) {
        stats.messagesSent++;
        stats.ackLatency.add(now() - sentAt);
      } else bump(stats.refused, res.code ?? 'unknown');
    });
  }

  #reaction(): void {
    const i = this.#reactionCursor++;
    const socket = sockets[i % sockets.length] as Socket;
    const sentAt = now();
    const reaction = CHAT_REACTIONS[i % CHAT_REACTIONS.length];
    const counted = inWindow(sentAt);
    if (counted) unanswered++;
    socket.emit('chat:react', { streamId: init.streamId, reaction }, (res: Ack) => {
      if (!counted) return;
      unanswered--;
      if (res.ok) stats.reactionsSent++;
      else bump(stats.reactionsRefused, res.code ?? 'unknown');
    });
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
const traffic = new Traffic();

function report(): Omit<ChatWindowStats, 'unanswered'> {
  const s = stats;
  stats = freshStats();
  const out: Omit<ChatWindowStats, 'unanswered'> = {
    messagesSent: s.messagesSent,
    refused: s.refused,
    reactionsSent: s.reactionsSent,
    reactionsRefused: s.reactionsRefused,
    messagesReceived: s.messagesReceived,
    messageLatency: s.messageLatency.sparse(),
    ackLatency: s.ackLatency.sparse(),
    reactionEventsReceived: s.reactionEventsReceived,
    reactionPressesReceived: s.reactionPressesReceived,
    reactionLatency: s.reactionLatency.sparse(),
    loopDelayMs: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
  };
  return out;
}

function closeAll(): void {
  traffic.close();
  for (const s of sockets.splice(0)) s.close();
}

process.on('disconnect', () => {
  closeAll();
  process.exit(0);
});

process.on('message', (m: ToChatters) => {
  const run = async () => {
    switch (m.type) {
      case 'init':
        init = m;
        await cryptoWaitReady();
        return joinAll(m);
      case 'traffic':
        return traffic.set(m.messagesPerSecond, m.reactionsPerSecond);
      case 'window':
        window = { from: m.from, to: m.to };
        stats = freshStats();
        unanswered = 0;
        loopDelay.reset();
        return;
      case 'report': {
        // A stalled server answers late: the window's figures wait for its answers (as long as 30 s).
        const t0 = performance.now();
        while (unanswered > 0 && performance.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
        send({ type: 'report', stats: { ...report(), unanswered } });
        return;
      }
      case 'close':
        closeAll();
        send({ type: 'closed' });
        setTimeout(() => process.exit(0), 200);
        return;
    }
  };
  run().catch((err: unknown) => send({ type: 'error', message: (err as Error).stack ?? String(err) }));
});
send({ type: 'ready' });
