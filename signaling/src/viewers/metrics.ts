import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Buckets of the tick → voucher time (s): fine below 100 ms, where its p99 target lies. */
const TICK_VOUCHER_BUCKETS = [
  0.002, 0.004, 0.006, 0.008, 0.01, 0.0125, 0.015, 0.0175, 0.02, 0.025, 0.03, 0.035, 0.04, 0.045, 0.05, 0.06, 0.07,
  0.08, 0.09, 0.1, 0.125, 0.15, 0.2, 0.3, 0.5, 1, 2, 5,
];

/** The viewer flow's Prometheus metrics. */
export function viewerMetrics(registry: Registry) {
  const registers = [registry];
  return {
    viewers: new Gauge({
      name: 'signaling_viewers',
      help: 'Viewer sessions admitted on this node, by delivery mode',
      labelNames: ['mode'] as const,
      registers,
    }),
    ticks: new Counter({ name: 'signaling_ticks_total', help: 'Ticks sent to viewers', registers }),
    unrecordedTicks: new Counter({
      name: 'signaling_ticks_unrecorded_total',
      help: 'Viewer-seconds metered whose round the ledger could not record: not sent, not charged',
      registers,
    }),
    vouchers: new Counter({
      name: 'signaling_vouchers_total',
      help: 'Vouchers by outcome: received (matches the tick), valid/invalid (signature verified in a round)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    pauses: new Counter({
      name: 'signaling_enforcement_pauses_total',
      help: 'Viewers paused by payment enforcement, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    refusals: new Counter({
      name: 'signaling_admission_refusals_total',
      help: 'viewer:join requests refused, by code',
      labelNames: ['code'] as const,
      registers,
    }),
    idleReleased: new Counter({
      name: 'signaling_idle_viewers_released_total',
      help: 'Admitted viewers released because no media or voucher showed them there',
      registers,
    }),
    ackLag: new Gauge({
      name: 'signaling_voucher_lag_max',
      help: 'Largest number of ticks of any viewer without a voucher received, after the last round',
      registers,
    }),
    tickToVoucher: new Histogram({
      name: 'signaling_tick_voucher_seconds',
      help: 'Time from sending a tick to handling the voucher for it (the tick → ack round trip)',
      buckets: TICK_VOUCHER_BUCKETS,
      registers,
    }),
  };
}

/** The viewer flow's metrics, as `viewerMetrics` makes them. */
export type ViewerMetrics = ReturnType<typeof viewerMetrics>;
