import { Counter, type Registry } from 'prom-client';

/** The chat's Prometheus metrics. */
export function chatMetrics(registry: Registry) {
  const registers = [registry];
  return {
    messages: new Counter({ name: 'signaling_chat_messages_total', help: 'Chat messages stored and sent', registers }),
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
