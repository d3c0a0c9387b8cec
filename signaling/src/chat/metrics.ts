import { Counter, Histogram, type Registry } from 'prom-client';
import type { FlushTiming } from './ChatBatcher.ts';

/** Buckets (s) of the batch timings: around the coalescing window (50 ms) and the 100 ms delivery target. */
const BATCH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.075, 0.1, 0.15, 0.25, 0.5, 1];

/** The chat's Prometheus metrics. */
export function chatMetrics(registry: Registry) {
  const registers = [registry];
  return {
    messages: new Counter({ name: 'signaling_chat_messages_total', help: 'Chat messages stored and sent', registers }),
    batchWait: new Histogram({
      name: 'signaling_chat_batch_wait_seconds',
      help: 'Per chat message sent: from its post to the start of the flush that took it (the coalescing window)',
      buckets: BATCH_BUCKETS,
      registers,
    }),
    batchStore: new Histogram({
      name: 'signaling_chat_batch_store_seconds',
      help: 'Per chat flush: the insert of its messages, before they are sent',
      buckets: BATCH_BUCKETS,
      registers,
    }),
    batchSend: new Histogram({
      name: 'signaling_chat_batch_send_seconds',
      help: 'Per chat flush: from the emit to the first part of the room to the emit to the last',
      buckets: BATCH_BUCKETS,
      registers,
    }),
    reactions: new Counter({
      name: 'signaling_chat_reactions_total',
      help: 'Reaction presses counted, by reaction',
      labelNames: ['reaction'] as const,
      registers,
    }),
    reactionEvents: new Counter({
      name: 'signaling_chat_reaction_events_total',
      help: 'chat:reactions events sent (one per stream with presses, per second)',
      registers,
    }),
    tips: new Counter({
      name: 'signaling_chat_tips_total',
      help: 'Tipped messages, by status reached: unsigned (declared), pending (in a block), final',
      labelNames: ['status'] as const,
      registers,
    }),
    refusals: new Counter({
      name: 'signaling_chat_refusals_total',
      help: 'Chat requests refused, by event and code',
      labelNames: ['event', 'code'] as const,
      registers,
    }),
  };
}

/** The chat's metrics, as `chatMetrics` makes them. */
export type ChatMetrics = ReturnType<typeof chatMetrics>;

/** Counts a flush's messages and observes where its time went (`ChatBatcher`'s `onSent`). */
export function observeFlush(metrics: ChatMetrics, count: number, timing: FlushTiming): void {
  metrics.messages.inc(count);
  for (const ms of timing.waitMs) metrics.batchWait.observe(ms / 1000);
  metrics.batchStore.observe(timing.storeMs / 1000);
  metrics.batchSend.observe(timing.sendMs / 1000);
}
