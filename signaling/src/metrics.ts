import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** Prometheus metrics of one signaling node. */
export class SignalingMetrics {
  readonly registry = new Registry();
  readonly sockets = new Gauge({
    name: 'signaling_sockets',
    help: 'Connected Socket.IO clients',
    registers: [this.registry],
  });
  readonly refused = new Counter({
    name: 'signaling_requests_refused_total',
    help: 'Client requests refused, by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'signaling_' });
  }
}
