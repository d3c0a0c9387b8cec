import { isIP } from 'node:net';
import { z } from 'zod';

/** proxy-addr's names for address ranges, accepted next to addresses and CIDRs. */
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrRange(entry: string): boolean {
  if (RANGE_NAMES.has(entry)) return true;
  const [address = '', bits, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^[0-9]{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/** Which peers may name the client in `X-Forwarded-For`: the first `hops` of the chain, or these addresses/ranges. */
export type TrustedProxies = { hops: number } | { addresses: string[] };

/**
 * TRUST_PROXY: a hop count (1–99), or a comma-separated list of proxy addresses, CIDRs and proxy-addr range names
 * (`loopback`, `linklocal`, `uniquelocal`).
 */
export const TrustProxy = z.string().transform((text, ctx): TrustedProxies => {
  if (/^[1-9][0-9]?$/.test(text)) return { hops: Number(text) };
  const addresses = text
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const bad = addresses.find((e) => !isAddressOrRange(e));
  if (addresses.length === 0 || bad !== undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `${bad ?? 'empty'} is not a hop count (1-99), an address, a CIDR or loopback/linklocal/uniquelocal`,
    });
    return z.NEVER;
  }
  return { addresses };
});

/**
 * fastify's `trustProxy` for the configured proxies; none: false, so `X-Forwarded-For` is ignored and a client
 * cannot choose its own `request.ip`. fastify turned numeric hop counts into "trust nothing", so hops become a
 * function trusting the first `hops` addresses of the chain (the peer first): only safe when every request comes
 * through that many proxies, since a client reaching the node directly is then trusted to name itself.
 */
export function trustProxyOption(
  proxies: TrustedProxies | undefined,
): false | string[] | ((a: string, i: number) => boolean) {
  if (!proxies) return false;
  if ('addresses' in proxies) return proxies.addresses;
  const { hops } = proxies;
  return (_address, i) => i < hops;
}
