import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { SignalingModule } from '../SignalingContext.ts';
import type { DependencyAvailability, DependencyHealth } from './Availability.ts';

/** Names under which the node's shared dependencies appear in `ctx.modules` and `/healthz` (`modules.<name>`). */
export type DependencyName = 'redis' | 'chain';

/** A dependency the node watches, as a module: its state on `/healthz`, closed with the node. */
export interface DependencyModule extends SignalingModule {
  readonly name: DependencyName;
  readonly availability: DependencyAvailability;
  health(): DependencyHealth;
}

/** The watched dependency `name` of a node's modules, if the node has it (no REDIS_URL, no chain: none). */
export function dependencyOf(
  modules: ReadonlyMap<string, SignalingModule>,
  name: DependencyName,
): DependencyAvailability | undefined {
  return (modules.get(name) as Partial<DependencyModule> | undefined)?.availability;
}

/**
 * Wraps `availability` as the module `name`, with its metrics (`signaling_<name>_available` 1/0,
 * `signaling_<name>_unavailable_seconds_total`, `signaling_<name>_outages_total`) and a log line at each change.
 * `onClose` releases what watches the client (its event listeners).
 */
export function dependencyModule(
  name: DependencyName,
  availability: DependencyAvailability,
  registry: Registry,
  log: Logger,
  onClose: () => void,
): DependencyModule {
  const registers = [registry];
  const available = new Gauge({
    name: `signaling_${name}_available`,
    help: `Whether ${name} answered last time it was asked (1) or cannot be reached (0)`,
    registers,
  });
  available.set(1);
  let accountedUntil = 0;
  const unavailableSeconds = new Counter({
    name: `signaling_${name}_unavailable_seconds_total`,
    help: `Seconds ${name} could not be reached (the node was degraded)`,
    registers,
    // Counted up to the scrape while the outage lasts, not only once it ends.
    collect() {
      const downMs = availability.downMs;
      if (downMs > accountedUntil) this.inc((downMs - accountedUntil) / 1000);
      accountedUntil = downMs;
    },
  });
  const outages = new Counter({
    name: `signaling_${name}_outages_total`,
    help: `Times ${name} became unreachable`,
    registers,
  });
  const unsubscribe = availability.onChange((up, { err, downMs = 0 }) => {
    available.set(up ? 1 : 0);
    if (!up) {
      outages.inc();
      log.error({ err, dependency: name }, `${name} unreachable: the node is degraded`);
      return;
    }
    if (downMs > accountedUntil) unavailableSeconds.inc((downMs - accountedUntil) / 1000);
    accountedUntil = 0;
    log.warn({ downMs, dependency: name }, `${name} reachable again`);
  });
  let closed = false;
  return {
    name,
    availability,
    health: () => availability.health(),
    close: async () => {
      if (closed) return;
      closed = true;
      unsubscribe();
      onClose();
      availability.close();
    },
  };
}
