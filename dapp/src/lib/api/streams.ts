// The signaling server's stream directory (`GET /v1/streams`, `GET /v1/streams/:id`).
import { SETTLE_EVERY_BOUNDS, type StreamPaymentTerms } from '@persecond/contracts-client/browser';
import {
  Address,
  type AdmissionTerms,
  Asset,
  Planck,
  StreamEndSummary,
  type StreamSummary,
} from '@persecond/signaling/protocol';
import { z } from 'zod';
import { ExposureSchema, RulesSchema } from '../payment/rules.ts';
import { getJson } from './http.ts';

/** The payment terms the creator chose (`terms` of a stream), within the server's bounds. */
export const StreamTermsSchema = z.object({
  settleEverySeconds: z.number().int().min(SETTLE_EVERY_BOUNDS.min).max(SETTLE_EVERY_BOUNDS.max),
  payAhead: z.boolean(),
}) satisfies z.ZodType<StreamPaymentTerms>;

/** Schema of one directory entry (mirrors `StreamSummary` from the protocol). */
export const StreamSummarySchema = z.object({
  streamId: z.string().min(1),
  title: z.string(),
  creator: Address,
  pricePerSecond: Planck,
  asset: Asset,
  metadataCid: z.string(),
  thumbnailCid: z.string().optional(),
  live: z.boolean(),
  viewers: z.number().int().min(0),
  terms: StreamTermsSchema,
}) satisfies z.ZodType<StreamSummary>;

// The list may come bare or wrapped in `{ streams }`.
const StreamList = z
  .union([z.array(StreamSummarySchema), z.object({ streams: z.array(StreamSummarySchema) })])
  .transform((v) => (Array.isArray(v) ? v : v.streams));

/** Where a stream is in its life: announced on chain, live, ended (`pending` only its creator sees). */
export type StreamStatus = 'pending' | 'announced' | 'live' | 'ended';

/**
 * One stream as `GET /v1/streams/:id` shows it: with the rules its viewers get on that node and each side's worst
 * case, and its status (absent from servers that predate it).
 */
export type StreamView = StreamSummary & AdmissionTerms & { status?: StreamStatus };

const StreamViewSchema = StreamSummarySchema.extend({
  rules: RulesSchema,
  exposure: ExposureSchema,
  status: z.enum(['pending', 'announced', 'live', 'ended']).optional(),
}) satisfies z.ZodType<StreamView>;

const StreamOne = z.object({ stream: StreamViewSchema }).transform((v) => v.stream);

/** Lists the streams known to the signaling server. */
export function listStreams(baseUrl: string, f: typeof fetch = fetch): Promise<StreamSummary[]> {
  return getJson(`${baseUrl}/v1/streams`, StreamList, { fetch: f });
}

/** Reads one stream, with the rules its viewers get. */
export function getStream(baseUrl: string, streamId: string, f: typeof fetch = fetch): Promise<StreamView> {
  return getJson(`${baseUrl}/v1/streams/${encodeURIComponent(streamId)}`, StreamOne, { fetch: f });
}

const SummaryOne = z.object({ summary: StreamEndSummary }).transform((v) => v.summary);

/** The creator's summary of one of its streams (`GET /v1/streams/:id/summary`, with the session cookie). */
export function getStreamSummary(
  baseUrl: string,
  streamId: string,
  f: typeof fetch = fetch,
): Promise<StreamEndSummary> {
  return getJson(`${baseUrl}/v1/streams/${encodeURIComponent(streamId)}/summary`, SummaryOne, {
    fetch: f,
    credentials: 'include',
  });
}
