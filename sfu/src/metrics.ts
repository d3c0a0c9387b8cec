import { Counter, Gauge, Registry } from 'prom-client';
import type { WorkerPool } from './WorkerPool.ts';

/** Prometheus metrics of one Sfu, in its own registry (merge it into the server's with Registry.merge). */
export interface SfuMetrics {
  registry: Registry;
  workerRestarts: Counter;
  hlsRestarts: Counter;
  capacityFull: Counter;
}

/** Registers the sfu metrics; gauges are read from live state at scrape time. */
export function createSfuMetrics(
  pool: () => WorkerPool | undefined,
  counts: () => { rooms: number; hlsRelays: number },
): SfuMetrics {
  const registry = new Registry();
  new Gauge({
    name: 'sfu_workers',
    help: 'Live mediasoup workers',
    registers: [registry],
    collect() {
      this.set(pool()?.workers.filter((w) => !w.worker.closed).length ?? 0);
    },
  });
  new Gauge({
    name: 'sfu_consumers',
    help: 'Live consumers per mediasoup worker',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      for (const w of pool()?.workers ?? []) this.set({ worker: String(w.index) }, w.consumers);
    },
  });
  new Gauge({
    name: 'sfu_rooms',
    help: 'Open stream rooms',
    registers: [registry],
    collect() {
      this.set(counts().rooms);
    },
  });
  new Gauge({
    name: 'sfu_hls_relays',
    help: 'Running HLS relays',
    registers: [registry],
    collect() {
      this.set(counts().hlsRelays);
    },
  });
  return {
    registry,
    workerRestarts: new Counter({
      name: 'sfu_worker_restarts_total',
      help: 'mediasoup workers replaced after dying',
      registers: [registry],
    }),
    hlsRestarts: new Counter({
      name: 'sfu_hls_ffmpeg_restarts_total',
      help: 'ffmpeg HLS encoders restarted after exiting',
      registers: [registry],
    }),
    capacityFull: new Counter({
      name: 'sfu_capacity_full_total',
      help: 'Viewers refused because every worker was at its consumer budget',
      registers: [registry],
    }),
  };
}
