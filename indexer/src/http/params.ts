import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import { z } from 'zod';

/** A protocol id (stream or session), as in the `ps1:` remarks. */
export const ProtocolIdParam = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'id must be 1-64 chars of [A-Za-z0-9_-]');

/** An SS58 address in any format, normalized to `ss58`. */
export const addressParam = (ss58: number) =>
  z.string().transform((text, ctx) => {
    try {
      return encodeAddress(decodeAddress(text), ss58);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not a valid SS58 address' });
      return z.NEVER;
    }
  });

/** An instant: ISO 8601 with offset, or epoch milliseconds. */
const Instant = z.union([
  z.iso.datetime({ offset: true }).transform((s) => new Date(s)),
  z
    .string()
    .regex(/^\d{1,15}$/, 'expected ISO 8601 or epoch milliseconds')
    .transform((s) => new Date(Number(s))),
]);

const MAX_BUCKETS = { hour: 24 * 92, day: 366 * 10 } as const;
const DEFAULT_SPAN_MS = { hour: 7 * 86_400_000, day: 90 * 86_400_000 } as const;

/** `?from&to&bucket=hour|day`: `to` defaults to now, `from` to 7 (hour) or 90 (day) days before `to`. */
export const EarningsQuery = z
  .object({
    from: Instant.optional(),
    to: Instant.optional(),
    bucket: z.enum(['hour', 'day']).default('day'),
  })
  .strict()
  .transform((q, ctx) => {
    const to = q.to ?? new Date();
    const from = q.from ?? new Date(to.getTime() - DEFAULT_SPAN_MS[q.bucket]);
    if (from.getTime() >= to.getTime()) {
      ctx.addIssue({ code: 'custom', message: '`from` must be before `to`', path: ['from'] });
      return z.NEVER;
    }
    const buckets = (to.getTime() - from.getTime()) / (q.bucket === 'hour' ? 3_600_000 : 86_400_000);
    if (buckets > MAX_BUCKETS[q.bucket]) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_BUCKETS[q.bucket]} ${q.bucket} buckets`, path: ['to'] });
      return z.NEVER;
    }
    return { from, to, bucket: q.bucket };
  });

const Limit = z.coerce.number().int().min(1).max(500);

/** Opaque settlements cursor: base64url of `<blockNumber>:<id>`. */
export const SettlementsCursorParam = z.string().transform((text, ctx) => {
  const decoded = Buffer.from(text, 'base64url').toString('utf8');
  const match = /^(\d{1,15}):(0x[0-9a-f]{64}:\d+:\d+)$/.exec(decoded);
  if (!match) {
    ctx.addIssue({ code: 'custom', message: 'malformed cursor' });
    return z.NEVER;
  }
  return { blockNumber: Number(match[1]), id: match[2]! };
});

/** Encodes a settlements cursor for the `next` field. */
export function encodeSettlementsCursor(c: { blockNumber: number; id: string }): string {
  return Buffer.from(`${c.blockNumber}:${c.id}`, 'utf8').toString('base64url');
}

/** `?creator&stream&cursor&limit` of GET /v1/settlements. */
export const settlementsQuery = (ss58: number) =>
  z
    .object({
      creator: addressParam(ss58).optional(),
      stream: ProtocolIdParam.optional(),
      cursor: SettlementsCursorParam.optional(),
      limit: Limit.default(100),
    })
    .strict();

/** `?creator&limit` of GET /v1/streams. */
export const streamsQuery = (ss58: number) =>
  z.object({ creator: addressParam(ss58).optional(), limit: Limit.default(100) }).strict();
