// Live chat under load (issue 13): 1,000 signed-in chatters in one stream's chat, 50 messages/s and 500 reaction
// presses/s spread over them, every message delivered to the other 999 and every second's reaction tally to all 1,000;
// at the same time ticking paying viewers, whose tick→voucher time is compared with the same viewers without chat
// traffic. The stack is the ticking bench's (stack.ts: dev chain, the real server as its own process, a live stream
// published over WebRTC); chatters run in forked processes (chatters.ts), viewers in tickingViewers.ts processes.
// --runs windows without chat traffic (baseline), then --runs with it; medians over the windows of each kind.
// Usage: node --import tsx bench/signaling/chat.ts [--chatters=1000] [--messages=50] [--reactions=500]
//   [--viewers=200] [--runs=3] [--window=20] [--warmup=3] [--drain=5] [--chatter-procs=2] [--viewer-procs=1]
//   [--database=pglite|postgres] [--out=<results file>] [--profile] (the server's CPU profile over each chat window,
//   through its inspector, summarized in the results)
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { freePort } from '../../scripts/start/freePort.ts';
import { median } from '../stats.ts';
import {
  type ChatWindowStats,
  type FromChatters,
  LATENCY_BUCKET_MS,
  type SparseHistogram,
  type ToChatters,
} from './chatProtocol.ts';
import { longTasks, summarizeCpuProfile } from './cpuProfile.ts';
import { machineBusySeconds, processGroup, procStat } from './procCpu.ts';
import {
  addViewers,
  benchArgs,
  bucketDistribution,
  ClientProcess,
  cleanup,
  cleanups,
  codeState,
  load,
  r1,
  r2,
  r3,
  root,
  serverCounters,
  startStack,
  startViewerProcesses,
  viewerSpecs,
  waitTicking,
} from './stack.ts';
import type { WindowStats } from './tickingProtocol.ts';
import { openWindowProfiler } from './windowProfiler.ts';

const here = dirname(fileURLToPath(import.meta.url));
const { opt, flag } = benchArgs();
const CHATTERS = Number(opt('chatters', '1000'));
const MESSAGES_PER_S = Number(opt('messages', '50'));
const REACTIONS_PER_S = Number(opt('reactions', '500'));
const VIEWERS = Number(opt('viewers', '200'));
const RUNS = Number(opt('runs', '3'));
const WINDOW_S = Number(opt('window', '20'));
/** Seconds of chat traffic before a chat window opens. */
const WARMUP_S = Number(opt('warmup', '3'));
/** Seconds after a window for the last messages sent in it to arrive. */
const DRAIN_S = Number(opt('drain', '5'));
const CHATTER_PROCS = Number(opt('chatter-procs', '2'));
const VIEWER_PROCS = Number(opt('viewer-procs', '1'));
const PER_WALLET = 25;
const FETCH_EVERY_MS = 2_000;
const PROFILE = flag('profile');
const DATABASE = opt('database', 'pglite') as 'pglite' | 'postgres';
const SERVER_ENTRY = join(root, 'signaling', 'src', 'bin', 'server.ts');
const RESULTS_FILE = opt('out', join(here, '..', 'results', 'chat.json'));
const TARGET_DELIVERY_P99_MS = 100;
const TARGET_METER_P99_MS = 50;
/** The bench's own reading of "chat must not slow the meter": p99 tick→voucher at most this many times the baseline. */
const TARGET_METER_SLOWDOWN = 2;

/** Wall-clock ms with sub-ms resolution, the clock the chatter processes stamp their messages with. */
const now = () => performance.timeOrigin + performance.now();

/** Merged sparse histograms → p50/p99/max (ms, bucket upper bounds) and the count. */
function histogram(parts: SparseHistogram[]) {
  const counts = new Map<number, number>();
  for (const part of parts) for (const [i, n] of part) counts.set(i, (counts.get(i) ?? 0) + n);
  const sorted = [...counts.entries()].sort((a, b) => a[0] - b[0]);
  const n = sorted.reduce((a, [, c]) => a + c, 0);
  const at = (q: number) => {
    let seen = 0;
    for (const [i, c] of sorted) {
      seen += c;
      if (seen >= q * n) return r2((i + 1) * LATENCY_BUCKET_MS);
    }
    return Number.NaN;
  };
  return { n, p50: at(0.5), p99: at(0.99), max: r2(((sorted.at(-1)?.[0] ?? Number.NaN) + 1) * LATENCY_BUCKET_MS) };
}

const sumRecords = (recs: Record<string, number>[]) => {
  const out: Record<string, number> = {};
  for (const r of recs) for (const [k, n] of Object.entries(r)) out[k] = (out[k] ?? 0) + n;
  return out;
};

async function main(): Promise<void> {
  await cryptoWaitReady();
  const date = new Date().toISOString();
  const loadAvgAtStart = load();
  const inspectPort = PROFILE ? await freePort() : 0;
  const stack = await startStack({
    database: DATABASE,
    serverEntry: SERVER_ENTRY,
    serverNodeArgs: PROFILE ? [`--inspect=127.0.0.1:${inspectPort}`] : [],
    title: 'Chat bench',
  });
  const { server, serverPid, url, streamId } = stack;
  const profileDir = join(stack.dataDir, 'profile');
  const profiler = await openWindowProfiler(PROFILE, inspectPort, profileDir, (close) => cleanups.push(close));
  const profiles: {
    run: number;
    top: ReturnType<typeof summarizeCpuProfile>;
    longTasks: ReturnType<typeof longTasks>;
  }[] = [];

  // ---- paying viewers ----
  const viewerProcs = await startViewerProcesses(stack, VIEWER_PROCS, FETCH_EVERY_MS);
  const added = await addViewers(stack, viewerProcs, 0, viewerSpecs(0, VIEWERS, PER_WALLET, 0), PER_WALLET);
  const ticking = await waitTicking(viewerProcs, added.ok);
  console.log(
    `viewers: ${added.ok}/${VIEWERS} admitted (funding ${added.fundMs} ms, joins ${added.joinMs} ms), ` +
      `${ticking.ticking} ticking after ${ticking.waitedMs} ms` +
      (Object.keys(added.joinFailures).length ? `, refused ${JSON.stringify(added.joinFailures)}` : ''),
  );

  // ---- chatters ----
  const chatterProcs = Array.from(
    { length: CHATTER_PROCS },
    (_, i) => new ClientProcess<ToChatters, FromChatters>('chatters.ts', i),
  );
  cleanups.push(() => Promise.all(chatterProcs.map((p) => p.close())));
  await Promise.all(chatterProcs.map((p) => p.next('ready', 300_000)));
  const share = (total: number, i: number) => Math.floor(total / CHATTER_PROCS) + (i < total % CHATTER_PROCS ? 1 : 0);
  const tJoin = performance.now();
  let first = 0;
  for (const [i, p] of chatterProcs.entries()) {
    p.send({ type: 'init', url, streamId, first, count: share(CHATTERS, i), concurrency: 16 });
    first += share(CHATTERS, i);
  }
  const initialized = await Promise.all(chatterProcs.map((p) => p.next('initialized', 900_000)));
  const chatters = initialized.reduce((a, x) => a + x.ok, 0);
  const chatterFailures = sumRecords(initialized.map((x) => x.failed));
  console.log(
    `chatters: ${chatters}/${CHATTERS} signed in and in the chat after ${Math.round(performance.now() - tJoin)} ms` +
      (Object.keys(chatterFailures).length ? `, failed ${JSON.stringify(chatterFailures)}` : ''),
  );
  if (chatters < 2) throw new Error('too few chatters joined');

  const cpuSnapshot = () => {
    const group = processGroup(server.pid);
    const sum = (pids: number[]) => pids.reduce((a, pid) => a + (procStat(pid)?.cpuSeconds ?? 0), 0);
    return {
      at: performance.now(),
      server: procStat(serverPid)?.cpuSeconds ?? Number.NaN,
      // mediasoup, ffmpeg and the HLS edge: the media side, apart from the signaling process.
      media: sum(group.filter((p) => p.pid !== serverPid && p.pid !== server.pid).map((p) => p.pid)),
      chatters: sum(chatterProcs.map((p) => p.pid)),
      viewers: sum(viewerProcs.map((p) => p.pid)),
      bench: procStat(process.pid)?.cpuSeconds ?? Number.NaN,
      machine: machineBusySeconds(),
    };
  };

  /** One measurement window, with chat traffic or without. */
  const measure = async (run: number, chat: boolean) => {
    if (chat) {
      for (const [i, p] of chatterProcs.entries()) {
        p.send({
          type: 'traffic',
          messagesPerSecond: share(MESSAGES_PER_S * 1000, i) / 1000,
          reactionsPerSecond: share(REACTIONS_PER_S * 1000, i) / 1000,
        });
      }
    }
    await sleep(WARMUP_S * 1000);
    const from = now();
    for (const p of chatterProcs) p.send({ type: 'window', from, to: from + WINDOW_S * 1000 });
    for (const p of viewerProcs) p.send({ type: 'window-start' });
    const c0 = await serverCounters(url);
    const s0 = cpuSnapshot();
    if (chat) await profiler?.start();
    await sleep(WINDOW_S * 1000);
    const s1 = cpuSnapshot();
    if (chat && profiler) {
      const file = join(profileDir, `server-chat-${run + 1}.cpuprofile`);
      await profiler.stop(file);
      profiles.push({ run: run + 1, top: summarizeCpuProfile(file, 30), longTasks: longTasks(file) });
      console.log(`server profile ${file}:`, JSON.stringify(profiles.at(-1)));
    }
    const c1 = await serverCounters(url);
    for (const p of viewerProcs) p.send({ type: 'window-end' });
    if (chat) for (const p of chatterProcs) p.send({ type: 'traffic', messagesPerSecond: 0, reactionsPerSecond: 0 });
    const viewerStats: WindowStats[] = (await Promise.all(viewerProcs.map((p) => p.next('window')))).map(
      (w) => w.stats,
    );
    await sleep(DRAIN_S * 1000);
    for (const p of chatterProcs) p.send({ type: 'report' });
    const parts: ChatWindowStats[] = (await Promise.all(chatterProcs.map((p) => p.next('report')))).map((r) => r.stats);
    const wall = (s1.at - s0.at) / 1000;
    const cores = (k: 'server' | 'media' | 'chatters' | 'viewers' | 'bench' | 'machine') => r3((s1[k] - s0[k]) / wall);
    const sum = (k: 'messagesSent' | 'reactionsSent' | 'messagesReceived' | 'reactionEventsReceived') =>
      parts.reduce((a, p) => a + p[k], 0);
    // Every chatter but the sender gets a message (the sender has it in its ack); every chatter gets each tally.
    const expectedMessageDeliveries = sum('messagesSent') * (chatters - 1);
    const deliveriesPerSecond = (sum('messagesReceived') + sum('reactionEventsReceived')) / WINDOW_S;
    const serverCores = cores('server');
    const tickToVoucher = bucketDistribution(c0.tickVoucher, c1.tickVoucher);
    const w = {
      run: run + 1,
      chat,
      seconds: r2(wall),
      messagesPerSecond: r1(sum('messagesSent') / WINDOW_S),
      messagesRefused: sumRecords(parts.map((p) => p.refused)),
      reactionsPerSecond: r1(sum('reactionsSent') / WINDOW_S),
      reactionsRefused: sumRecords(parts.map((p) => p.reactionsRefused)),
      unanswered: parts.reduce((a, p) => a + p.unanswered, 0),
      messageDeliveries: sum('messagesReceived'),
      expectedMessageDeliveries,
      deliveredShare: expectedMessageDeliveries ? r3(sum('messagesReceived') / expectedMessageDeliveries) : null,
      reactionEventsReceived: sum('reactionEventsReceived'),
      reactionPressesReceivedPerChatter: r1(parts.reduce((a, p) => a + p.reactionPressesReceived, 0) / chatters),
      deliveriesPerSecond: r1(deliveriesPerSecond),
      messageLatencyMs: histogram(parts.map((p) => p.messageLatency)),
      sendAckMs: histogram(parts.map((p) => p.ackLatency)),
      reactionTallyLatencyMs: histogram(parts.map((p) => p.reactionLatency)),
      cpuCores: {
        server: serverCores,
        media: cores('media'),
        chatterProcesses: cores('chatters'),
        viewerProcesses: cores('viewers'),
        benchProcess: cores('bench'),
        // Everything else the machine ran meanwhile (other workloads on a shared machine).
        others: r3(
          cores('machine') -
            (['server', 'media', 'chatters', 'viewers', 'bench'] as const).reduce((a, k) => a + cores(k), 0),
        ),
      },
      serverCoresPer1000DeliveriesPerSecond: deliveriesPerSecond
        ? r3(serverCores / (deliveriesPerSecond / 1000))
        : null,
      ticksPerSecondServer: r1((c1.ticks - c0.ticks) / wall),
      tickToVoucherMs: tickToVoucher,
      viewerMissedTicks: viewerStats.reduce((a, s) => a + s.missed, 0),
      viewerAckErrors: viewerStats.reduce((a, s) => a + s.refused, 0),
      viewerPaymentRequired: viewerStats.reduce((a, s) => a + s.paymentRequired, 0),
      serverLoopDelayMs: { p99: c1.loopDelayP99Ms, max: c1.loopDelayMaxMs },
      chatterLoopDelayMs: {
        p99: r2(Math.max(...parts.map((p) => p.loopDelayMs.p99))),
        max: r2(Math.max(...parts.map((p) => p.loopDelayMs.max))),
      },
      loadAvg: load(),
    };
    console.log(
      `run ${run + 1} ${chat ? 'chat    ' : 'baseline'}: ${w.messagesPerSecond} msg/s, ${w.reactionsPerSecond} reactions/s, ` +
        `${w.deliveriesPerSecond} deliveries/s (${w.deliveredShare ?? '-'} of messages delivered), ` +
        `message p50 ${w.messageLatencyMs.p50} p99 ${w.messageLatencyMs.p99} ms; server ${r1(serverCores * 100)} % ` +
        `of a core, chatters ${r1(w.cpuCores.chatterProcesses * 100)} %; tick→voucher p99 ${tickToVoucher.p99} ms ` +
        `(${w.ticksPerSecondServer} ticks/s); server loop p99 ${w.serverLoopDelayMs.p99} ms, chatter loop p99 ` +
        `${w.chatterLoopDelayMs.p99} ms; load ${w.loadAvg[0]}`,
    );
    return w;
  };

  await sleep(3_000);
  const windows: Awaited<ReturnType<typeof measure>>[] = [];
  // The baseline windows first: a server stalled by the chat traffic may have paused viewers for good.
  for (let run = 0; run < RUNS; run++) windows.push(await measure(run, false));
  for (let run = 0; run < RUNS; run++) windows.push(await measure(run, true));

  // ---- report ----
  const of = (chat: boolean) => windows.filter((w) => w.chat === chat);
  const med = (chat: boolean, f: (w: (typeof windows)[number]) => number | null) =>
    r3(median(of(chat).map((w) => f(w) ?? Number.NaN)));
  const summary = {
    messagesPerSecond: med(true, (w) => w.messagesPerSecond),
    reactionsPerSecond: med(true, (w) => w.reactionsPerSecond),
    deliveriesPerSecond: med(true, (w) => w.deliveriesPerSecond),
    deliveredShareMin: Math.min(...of(true).map((w) => w.deliveredShare ?? 0)),
    messageLatencyP50Ms: med(true, (w) => w.messageLatencyMs.p50),
    messageLatencyP99Ms: med(true, (w) => w.messageLatencyMs.p99),
    messageLatencyMaxMs: med(true, (w) => w.messageLatencyMs.max),
    sendAckP99Ms: med(true, (w) => w.sendAckMs.p99),
    reactionTallyLatencyP50Ms: med(true, (w) => w.reactionTallyLatencyMs.p50),
    reactionTallyLatencyP99Ms: med(true, (w) => w.reactionTallyLatencyMs.p99),
    serverCoresBaseline: med(false, (w) => w.cpuCores.server),
    serverCoresChat: med(true, (w) => w.cpuCores.server),
    serverCoresPer1000DeliveriesPerSecond: med(true, (w) => w.serverCoresPer1000DeliveriesPerSecond),
    chatterProcessCores: med(true, (w) => w.cpuCores.chatterProcesses),
    tickToVoucherP99MsBaseline: med(false, (w) => w.tickToVoucherMs.p99),
    tickToVoucherP99MsChat: med(true, (w) => w.tickToVoucherMs.p99),
    ticksPerSecondBaseline: med(false, (w) => w.ticksPerSecondServer),
    ticksPerSecondChat: med(true, (w) => w.ticksPerSecondServer),
  };
  const marginalPer1000 = r3(
    (summary.serverCoresChat - summary.serverCoresBaseline) / (summary.deliveriesPerSecond / 1000),
  );
  const meterRatio = r2(summary.tickToVoucherP99MsChat / summary.tickToVoucherP99MsBaseline);
  console.table(
    windows.map((w) => ({
      run: w.run,
      traffic: w.chat ? 'chat' : 'baseline',
      'msg/s': w.messagesPerSecond,
      'reactions/s': w.reactionsPerSecond,
      'deliveries/s': w.deliveriesPerSecond,
      delivered: w.deliveredShare ?? '-',
      'msg p50 ms': w.messageLatencyMs.p50,
      'msg p99 ms': w.messageLatencyMs.p99,
      'tally p99 ms': w.reactionTallyLatencyMs.p99,
      'server CPU %': r1(w.cpuCores.server * 100),
      'chatters CPU %': r1(w.cpuCores.chatterProcesses * 100),
      'others CPU %': r1(w.cpuCores.others * 100),
      'core/1k deliv/s': w.serverCoresPer1000DeliveriesPerSecond ?? '-',
      'tick→voucher p99 ms': w.tickToVoucherMs.p99,
      'ticks/s': w.ticksPerSecondServer,
      'missed/ackErr': `${w.viewerMissedTicks}/${w.viewerAckErrors}`,
    })),
  );
  const targets = {
    messageDeliveryP99: {
      target: `p99 send→receipt < ${TARGET_DELIVERY_P99_MS} ms (${CHATTERS} chatters, ${MESSAGES_PER_S} messages/s and ${REACTIONS_PER_S} reactions/s)`,
      value: summary.messageLatencyP99Ms,
      pass: summary.messageLatencyP99Ms < TARGET_DELIVERY_P99_MS,
    },
    deliveredToAll: {
      target: 'every message sent in a window received by every other chatter (share of the deliveries, lowest window)',
      value: summary.deliveredShareMin,
      pass: summary.deliveredShareMin === 1,
    },
    meterP99WithChat: {
      target: `p99 tick→voucher < ${TARGET_METER_P99_MS} ms for ${added.ok} ticking viewers during the chat traffic (the signaling bench's target)`,
      value: summary.tickToVoucherP99MsChat,
      pass: summary.tickToVoucherP99MsChat < TARGET_METER_P99_MS,
    },
    meterSlowdown: {
      target: `p99 tick→voucher with chat ≤ ${TARGET_METER_SLOWDOWN} × without (this bench's threshold for "chat must not slow the meter")`,
      value: meterRatio,
      pass: meterRatio <= TARGET_METER_SLOWDOWN,
    },
  };
  console.log(
    `chat: ${summary.deliveriesPerSecond} deliveries/s, message p50 ${summary.messageLatencyP50Ms} p99 ` +
      `${summary.messageLatencyP99Ms} ms (${targets.messageDeliveryP99.pass ? 'pass' : 'FAIL'}); server ` +
      `${summary.serverCoresPer1000DeliveriesPerSecond} core per 1,000 deliveries/s (marginal over the baseline ` +
      `${marginalPer1000}); tick→voucher p99 ${summary.tickToVoucherP99MsBaseline} → ${summary.tickToVoucherP99MsChat} ms ` +
      `(× ${meterRatio}, ${targets.meterSlowdown.pass ? 'pass' : 'FAIL'})`,
  );

  const result = {
    name: 'chat',
    date,
    machine: {
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      node: process.version,
      loadAvgAtStart,
      loadAvgAtEnd: load(),
      note: 'shared 2-core VM: the chatter and viewer processes, the chain and the publisher share the two cores with the server, so client-side work delays receipts and vouchers, and other workloads may run at the same time; each window’s loadAvg and cpuCores (others: the machine’s busy time from /proc/stat less this bench’s processes) tell what ran',
    },
    code: codeState(SERVER_ENTRY),
    method: {
      stack:
        'bench/signaling/stack.ts, as the signaling (ticking) bench: chopsticks dev chain in the bench process; signaling/src/bin/server.ts as its own process with SIGNALING_NODE_FLAGS, ledger in embedded PGlite (chat messages stored there), 1 mediasoup worker, HLS relay fed by a wrtc publisher (//Alice’s live stream)',
      serverEnv:
        'as the ticking bench: AUTH_RATE_LIMIT_MAX and JOIN_RATE_LIMIT_MAX 1e6 (all sign-ins from 127.0.0.1), SETTLE_EVERY_SECONDS and PAYMENT_GRACE_SECONDS 3600, fixed FEE_RESERVE_PLANCK; the chat limits are the defaults (CHAT_MESSAGE_RATE_LIMIT 5 per 10 s per wallet, CHAT_REACTIONS_PER_SECOND 10 per wallet, CHAT_SOCKET_RATE_LIMIT 40 per 10 s per socket): the traffic respects them',
      chatters: `${CHATTERS} wallets (//PersecondChatter<n> derived from the dev phrase's root pair), each signed in (sr25519 sign-in) on its own socket.io-client websocket and joined to the stream's chat (chat:join), in ${CHATTER_PROCS} forked processes; the messages (${MESSAGES_PER_S}/s) and reaction presses (${REACTIONS_PER_S}/s, the five reactions in turn) are sent every 10 ms as they fall due, each from the next chatter in turn, so a wallet sends a message every ${r1(CHATTERS / MESSAGES_PER_S)} s and a reaction every ${r2(CHATTERS / REACTIONS_PER_S)} s (within the default limits)`,
      deliveries:
        'a message reaches the other chatters in a chat:messages batch (the server coalesces a room’s messages: at once when the room was quiet for CHAT_BATCH_WINDOW_MS, else one batch per window; the sender gets the batch too but has its message from the ack, so only the others’ receipts count); reactions are summed per stream and second by the server (ReactionTally) and reach every chatter as one chat:reactions a second, so deliveries/s = message receipts + tally receipts per second',
      latency: `one clock: the host's wall clock with sub-ms resolution (performance.timeOrigin + performance.now()) in every chatter process; a message carries its send time in its text and each receiver takes receipt − send (histogram of ${LATENCY_BUCKET_MS} ms buckets, quantiles as bucket upper bounds); reaction tallies: the server's flush time (ChatReactionCounts.at, Date.now() in ms) → receipt, i.e. fan-out only (a press waits up to 1 s for its tally by design); messages and tallies counted by send/flush time inside the window, received until ${DRAIN_S} s after it`,
      cpu: 'utime+stime of the signaling Node process from /proc/<pid>/stat over each window (mediasoup, ffmpeg and the HLS edge reported together as media, the client processes apart); server cores per 1,000 deliveries/s = server cores in a chat window / (deliveries per second / 1000), which includes the ticking viewers and the idle server; marginalServerCoresPer1000DeliveriesPerSecond subtracts the baseline windows’ server cores',
      meter: `${added.ok} ticking paying viewers (tickingViewers.ts in ${VIEWER_PROCS} process(es), HLS, each acknowledging every tick with an ed25519-signed voucher, as in the ticking bench) throughout; tick→voucher from the server's signaling_tick_voucher_seconds histogram over each window (interpolated within buckets), compared between windows without chat traffic (baseline: the chatters connected and idle) and with it`,
      windows: `${RUNS} baseline windows, then ${RUNS} chat windows, of ${WINDOW_S} s each (chat traffic starting ${WARMUP_S} s before its window and stopped at its end; the window's sends counted once answered, up to 30 s); medians over the windows of each kind`,
    },
    setup: {
      chatters,
      chatterFailures,
      viewers: added.ok,
      viewerJoinFailures: added.joinFailures,
      viewersTicking: ticking.ticking,
    },
    summary: {
      ...summary,
      marginalServerCoresPer1000DeliveriesPerSecond: marginalPer1000,
      tickToVoucherP99Ratio: meterRatio,
    },
    targets,
    windows,
    ...(PROFILE ? { profiles } : {}),
  };
  writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${RESULTS_FILE}`);
}

try {
  await main();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
process.exit(process.exitCode ?? 0);
