import { randomBytes } from 'node:crypto';
import {
  buildAnnouncement,
  type ChainClient,
  MAX_PRICE_PER_SECOND,
  SETTLE_EVERY_BOUNDS,
  type StreamPaymentTerms,
} from '@persecond/contracts-client';
import { CidString, MetadataError, streamMetadataSchema } from '@persecond/contracts-client/metadata';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { sameAccount } from '../accounts.ts';
import type { AuthModule } from '../auth/AuthModule.ts';
import { SignalingError } from '../errors.ts';
import { installErrorHandler, parseInput } from '../http/errors.ts';
import type { Pinner } from '../ipfs/Pinner.ts';
import { pinStreamMetadata } from '../metadata/streamMetadataPinning.ts';
import { exposureOf, type NodePaymentWindows, rulesFor, windowsOf } from '../payments/paymentRules.ts';
import { type AdmissionTerms, type NodePaymentTerms, StreamId, type StreamSummary } from '../protocol.ts';
import type { CreationLimit } from './creationLimit.ts';
import type { StreamRecord, StreamStatus, StreamStore } from './StreamStore.ts';

/**
 * A stream as `GET /v1/streams/:id` shows it, with the rules its viewers get on this node and each side's worst case
 * per viewer under them (what an admission here would state).
 */
export interface StreamDetails extends StreamSummary, AdmissionTerms {
  description: string;
  status: StreamStatus;
  createdAt: string;
  liveAt?: string;
  endedAt?: string;
  announcement?: { blockHash: string; blockNumber: number; extrinsicHash: string };
}

const { shape } = streamMetadataSchema;
const CreateStreamBody = z.strictObject({
  title: shape.title,
  description: shape.description.default(''),
  /** Planck decimal string; decoded to bigint, then checked against MAX_PRICE_PER_SECOND (AMOUNT_OUT_OF_RANGE). */
  pricePerSecond: z
    .string()
    .max(80)
    .regex(/^[1-9][0-9]*$/, 'amount must be a canonical positive decimal string')
    .transform(BigInt),
  asset: shape.asset,
  thumbnailCid: CidString.optional(),
  /** Seconds a viewer settles at a time; within SETTLE_EVERY_BOUNDS (AMOUNT_OUT_OF_RANGE otherwise). */
  settleEverySeconds: z.int().optional(),
  /** Viewers pay each window before it is served. */
  payAhead: z.boolean().optional(),
});
type CreateStreamBody = z.infer<typeof CreateStreamBody>;

const StreamParams = z.object({ id: StreamId });

function summaryOf(r: StreamRecord): StreamSummary {
  return {
    streamId: r.streamId,
    title: r.title,
    creator: r.creator,
    pricePerSecond: r.pricePerSecond.toString(),
    asset: r.asset,
    metadataCid: r.metadataCid,
    ...(r.thumbnailCid ? { thumbnailCid: r.thumbnailCid } : {}),
    live: r.status === 'live',
    viewers: r.viewers,
    terms: r.terms,
  };
}

function detailsOf(r: StreamRecord, windows: NodePaymentWindows): StreamDetails {
  const rules = rulesFor(r.terms, windows);
  return {
    ...summaryOf(r),
    rules,
    exposure: exposureOf(rules, r.pricePerSecond),
    description: r.description,
    status: r.status,
    createdAt: r.createdAt,
    ...(r.liveAt ? { liveAt: r.liveAt } : {}),
    ...(r.endedAt ? { endedAt: r.endedAt } : {}),
    ...(r.announcement ? { announcement: r.announcement } : {}),
  };
}

/** Live first, then by audience, then newest. */
function directoryOrder(a: StreamRecord, b: StreamRecord): number {
  const live = Number(b.status === 'live') - Number(a.status === 'live');
  return live || b.viewers - a.viewers || b.createdAt.localeCompare(a.createdAt);
}

/** The amounts of a creation request within their bounds, else AMOUNT_OUT_OF_RANGE naming the field and bounds. */
function checkBounds(body: CreateStreamBody): void {
  if (body.pricePerSecond > MAX_PRICE_PER_SECOND) {
    throw new SignalingError('AMOUNT_OUT_OF_RANGE', `pricePerSecond: at most ${MAX_PRICE_PER_SECOND} planck`, {
      field: 'pricePerSecond',
      max: MAX_PRICE_PER_SECOND.toString(),
    });
  }
  const every = body.settleEverySeconds;
  if (every !== undefined && (every < SETTLE_EVERY_BOUNDS.min || every > SETTLE_EVERY_BOUNDS.max)) {
    throw new SignalingError(
      'AMOUNT_OUT_OF_RANGE',
      `settleEverySeconds: between ${SETTLE_EVERY_BOUNDS.min} and ${SETTLE_EVERY_BOUNDS.max}`,
      { field: 'settleEverySeconds', min: String(SETTLE_EVERY_BOUNDS.min), max: String(SETTLE_EVERY_BOUNDS.max) },
    );
  }
}

/** What the stream routes work with. */
export interface StreamRoutesDeps {
  app: FastifyInstance;
  auth: AuthModule;
  pinner: Pinner;
  chain: () => ChainClient;
  store: StreamStore;
  limit: CreationLimit;
  /** The stored stream with its terms filled in. */
  record: (streamId: string) => Promise<StreamRecord | undefined>;
  publicStreams: () => Promise<StreamRecord[]>;
  defaultTerms: StreamPaymentTerms;
  /** The node's payment windows (viewers config): with a stream's terms, the rules its viewers get here. */
  windows: NodePaymentWindows;
  pendingTtlMs: number;
  log: Logger;
}

/**
 * `POST /v1/streams` (checks the body and its bounds, spends one of the wallet's creations, pins the metadata, returns
 * the announcement call), `GET /v1/streams` (the public directory), `GET /v1/streams/:id` and `GET /v1/payment-terms`
 * (what a creator may choose here and the node's windows, for the studio to show each side's worst case).
 */
export async function registerStreamRoutes(deps: StreamRoutesDeps): Promise<void> {
  const { app, auth, store, log } = deps;
  const directory = async (): Promise<{ ok: true; streams: StreamSummary[] }> => ({
    ok: true,
    streams: (await deps.publicStreams()).sort(directoryOrder).map(summaryOf),
  });
  const paymentTerms: { ok: true } & NodePaymentTerms = {
    ok: true,
    settleEveryBounds: { min: SETTLE_EVERY_BOUNDS.min, max: SETTLE_EVERY_BOUNDS.max },
    defaultTerms: deps.defaultTerms,
    ...windowsOf(deps.windows),
  };

  await app.register(async (scope: FastifyInstance) => {
    installErrorHandler(scope);

    scope.post('/v1/streams', async (request, reply) => {
      const creator = auth.requireAddress(request);
      const body = parseInput(CreateStreamBody, request.body);
      checkBounds(body);
      // Before any chain read or pin: what a wallet can make the node do is bounded.
      try {
        await deps.limit.take(creator);
      } catch (err) {
        const after = err instanceof SignalingError ? err.details?.retryAfterMs : undefined;
        if (after) reply.header('retry-after', Math.ceil(Number(after) / 1000));
        throw err;
      }
      const chain = deps.chain();
      if (body.asset !== 'native') {
        const asset = chain.facts.hasAssets ? await chain.api.query.assets.asset(body.asset) : undefined;
        if (!asset?.isSome) throw new SignalingError('BAD_REQUEST', `asset: no asset ${body.asset} on this chain`);
      }
      // A choice, when made, is written whole into the document: what viewers agree to does not move with the node.
      const chose = body.settleEverySeconds !== undefined || body.payAhead !== undefined;
      const terms: StreamPaymentTerms | undefined = chose
        ? {
            settleEverySeconds: body.settleEverySeconds ?? deps.defaultTerms.settleEverySeconds,
            payAhead: body.payAhead ?? false,
          }
        : undefined;
      const streamId = randomBytes(12).toString('base64url');
      const createdAt = new Date().toISOString();
      let metadataCid: string;
      try {
        const cid = await pinStreamMetadata(deps.pinner, {
          version: 1,
          title: body.title,
          description: body.description,
          pricePerSecond: body.pricePerSecond,
          asset: body.asset,
          creator,
          ...(body.thumbnailCid ? { thumbnail: body.thumbnailCid } : {}),
          createdAt,
          ...(terms ? { terms } : {}),
        });
        metadataCid = cid.toString();
      } catch (err) {
        if (err instanceof MetadataError) throw new SignalingError('BAD_REQUEST', err.message);
        throw err;
      }
      const tx = buildAnnouncement(chain, { streamId, metadataCid });
      await store.create(
        {
          streamId,
          creator,
          title: body.title,
          description: body.description,
          pricePerSecond: body.pricePerSecond,
          asset: body.asset,
          metadataCid,
          ...(body.thumbnailCid ? { thumbnailCid: body.thumbnailCid } : {}),
          createdAt,
          ...(terms ? { terms } : {}),
        },
        deps.pendingTtlMs,
      );
      log.info({ streamId, creator, metadataCid }, 'stream created');
      return {
        ok: true,
        streamId,
        metadataCid,
        terms: terms ?? deps.defaultTerms,
        announcement: { callData: tx.method.toHex() },
      };
    });

    scope.get('/v1/streams', directory);

    scope.get('/v1/streams/:id', async (request) => {
      const { id } = parseInput(StreamParams, request.params);
      const stream = await deps.record(id);
      // Until announced, a stream exists only for its creator.
      const visible =
        stream && (stream.status !== 'pending' || sameAccount(stream.creator, auth.addressOf(request) ?? ''));
      if (!stream || !visible) throw new SignalingError('STREAM_NOT_FOUND', `no stream ${id}`);
      return { ok: true, stream: detailsOf(stream, deps.windows) };
    });

    scope.get('/v1/payment-terms', async () => paymentTerms);
  });
}
