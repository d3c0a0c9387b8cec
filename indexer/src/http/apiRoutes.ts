import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  type AssetAmounts,
  EARNING_KINDS,
  type Earnings,
  type PendingFinal,
  type StreamAmounts,
} from '../db/earnings.ts';
import type { Queries, SettlementView, StreamView } from '../db/queries.ts';
import { IndexerError } from '../errors.ts';
import {
  addressParam,
  EarningsQuery,
  encodeSettlementsCursor,
  ProtocolIdParam,
  settlementsQuery,
  streamsQuery,
} from './params.ts';

/** Parses a trust-boundary value or fails the request with 400 BAD_REQUEST. */
function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new IndexerError('BAD_REQUEST', z.prettifyError(result.error));
  return result.data;
}

const pendingFinal = (a: PendingFinal) => ({ pending: a.pending.toString(), final: a.final.toString() });
/** An amounts entry on the wire: the total and each kind (`live`, `replay`, `tip`) on its own, decimal strings. */
const amounts = (a: AssetAmounts) => ({
  asset: a.asset,
  ...pendingFinal(a),
  kinds: Object.fromEntries(EARNING_KINDS.map((k) => [k, pendingFinal(a.kinds[k])])),
});
const streamAmounts = (a: StreamAmounts) => ({ streamId: a.streamId, ...amounts(a) });

function earningsJson(e: Earnings) {
  return {
    totals: e.totals.map(amounts),
    // Each stream with its title from its metadata (null until fetched): what a creator recognises it by.
    streams: e.streams.map((s) => ({ streamId: s.streamId, title: e.titles.get(s.streamId) ?? null, ...amounts(s) })),
    buckets: e.buckets.map((b) => ({
      start: b.start.toISOString(),
      totals: b.totals.map(amounts),
      streams: b.streams.map(streamAmounts),
    })),
  };
}

function streamJson(s: StreamView) {
  return {
    ...s,
    announcedAt: s.announcedAt.toISOString(),
    metadataError: s.metadataError && {
      ...s.metadataError,
      nextAttemptAt: s.metadataError.nextAttemptAt?.toISOString() ?? null,
    },
    metadata: s.metadata && { ...s.metadata, pricePerSecond: s.metadata.pricePerSecond?.toString() ?? null },
  };
}

function settlementJson(s: SettlementView) {
  return { ...s, amount: s.amount.toString(), blockTime: s.blockTime.toISOString() };
}

/** The earnings API: creators' and streams' earnings, streams, settlements. */
export function registerApiRoutes(app: FastifyInstance, queries: Queries, ss58: number): void {
  const Address = z.object({ address: addressParam(ss58) });
  const StreamIdParams = z.object({ id: ProtocolIdParam });
  const SettlementsQuery = settlementsQuery(ss58);
  const StreamsQuery = streamsQuery(ss58);

  app.get('/v1/creators/:address/earnings', async (req) => {
    const { address } = parse(Address, req.params);
    const { from, to, bucket } = parse(EarningsQuery, req.query);
    const earnings = await queries.creatorEarnings(address, from, to, bucket);
    return { creator: address, from: from.toISOString(), to: to.toISOString(), bucket, ...earningsJson(earnings) };
  });

  app.get('/v1/streams', async (req) => {
    const q = parse(StreamsQuery, req.query);
    return { items: (await queries.listStreams(q)).map(streamJson) };
  });

  app.get('/v1/streams/:id', async (req) => {
    const { id } = parse(StreamIdParams, req.params);
    const stream = await queries.getStream(id);
    if (!stream) throw new IndexerError('NOT_FOUND', `stream ${id} has not been announced`);
    return streamJson(stream);
  });

  app.get('/v1/streams/:id/earnings', async (req) => {
    const { id } = parse(StreamIdParams, req.params);
    const { from, to, bucket } = parse(EarningsQuery, req.query);
    const [stream, earnings] = await Promise.all([queries.getStream(id), queries.streamEarnings(id, from, to, bucket)]);
    return {
      streamId: id,
      stream: stream ? streamJson(stream) : null,
      from: from.toISOString(),
      to: to.toISOString(),
      bucket,
      ...earningsJson(earnings),
    };
  });

  app.get('/v1/settlements', async (req) => {
    const q = parse(SettlementsQuery, req.query);
    const page = await queries.listSettlements({
      creator: q.creator,
      streamId: q.stream,
      cursor: q.cursor,
      limit: q.limit,
    });
    return { items: page.items.map(settlementJson), next: page.next && encodeSettlementsCursor(page.next) };
  });
}
