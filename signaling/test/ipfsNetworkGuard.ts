import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';

/** Records outbound network attempts of this process and refuses any that is not loopback (test helper). */
export interface NetworkGuard {
  /** Every attempt seen, e.g. "tcp 127.0.0.1:5001", "udp 224.0.0.251:5353", "dns example.com". */
  readonly attempts: string[];
  /** Attempts that were not to a loopback address. */
  nonLoopback(): string[];
  /** Restores the patched functions. */
  uninstall(): void;
}

const isLoopback = (host: string | undefined) =>
  host === undefined || host === 'localhost' || host.startsWith('127.') || host === '::1' || host.startsWith('unix:');

/** Patches net/dgram/dns so that every outbound attempt is recorded and non-loopback ones fail. */
export function installNetworkGuard(): NetworkGuard {
  const attempts: string[] = [];
  const blocked: string[] = [];
  const connect = net.Socket.prototype.connect;
  const send = dgram.Socket.prototype.send;
  const lookup = dns.lookup;
  const lookupPromise = dns.promises.lookup;

  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    let host: string | undefined;
    let port: unknown;
    if (typeof first === 'object' && first !== null) {
      const o = first as { path?: string; host?: string; port?: unknown };
      host = o.path ? `unix:${o.path}` : o.host;
      port = o.port;
    } else {
      port = first;
      host = typeof args[1] === 'string' ? args[1] : undefined;
    }
    const target = `tcp ${host ?? 'localhost'}:${String(port ?? '')}`;
    attempts.push(target);
    if (!isLoopback(host)) {
      blocked.push(target);
      process.nextTick(() => this.destroy(new Error(`blocked non-loopback connect to ${target}`)));
      return this;
    }
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof connect;

  dgram.Socket.prototype.send = function guardedSend(this: dgram.Socket, ...args: unknown[]) {
    const host = args.find((a, i) => i > 0 && typeof a === 'string') as string | undefined;
    const target = `udp ${host ?? '?'}`;
    attempts.push(target);
    if (!isLoopback(host)) {
      blocked.push(target);
      return;
    }
    return (send as (...a: unknown[]) => void).apply(this, args);
  } as typeof send;

  // Returns the refusal when the name is not loopback.
  const checkLookup = (hostname: string): Error | undefined => {
    const target = `dns ${hostname}`;
    attempts.push(target);
    if (isLoopback(hostname)) return undefined;
    blocked.push(target);
    return Object.assign(new Error(`blocked lookup of ${hostname}`), { code: 'ENOTFOUND' });
  };
  dns.lookup = function guardedLookup(hostname: string, ...rest: unknown[]) {
    const refusal = checkLookup(hostname);
    const callback = rest.at(-1);
    if (refusal && typeof callback === 'function') {
      process.nextTick(() => callback(refusal));
      return;
    }
    return (lookup as (...a: unknown[]) => void)(hostname, ...rest);
  } as typeof lookup;
  dns.promises.lookup = function guardedLookupPromise(hostname: string, ...rest: unknown[]) {
    const refusal = checkLookup(hostname);
    if (refusal) return Promise.reject(refusal);
    return (lookupPromise as (...a: unknown[]) => Promise<unknown>)(hostname, ...rest);
  } as typeof lookupPromise;

  return {
    attempts,
    nonLoopback: () => [...blocked],
    uninstall() {
      net.Socket.prototype.connect = connect;
      dgram.Socket.prototype.send = send;
      dns.lookup = lookup;
      dns.promises.lookup = lookupPromise;
    },
  };
}
