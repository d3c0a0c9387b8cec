// What a creator may choose on the signaling node and the payment windows every session there gets
// (`GET /v1/payment-terms`): the studio shows each side's worst case from these, never from figures of its own.
import { SETTLE_EVERY_BOUNDS } from '@persecond/contracts-client/browser';
import type { NodePaymentTerms } from '@persecond/signaling/protocol';
import { z } from 'zod';
import { RulesSchema } from '../payment/rules.ts';
import { getJson } from './http.ts';
import { StreamTermsSchema } from './streams.ts';

const Interval = z.number().int().min(SETTLE_EVERY_BOUNDS.min).max(SETTLE_EVERY_BOUNDS.max);

const NodePaymentTermsSchema = RulesSchema.omit({ settleEverySeconds: true, payAhead: true })
  .extend({
    settleEveryBounds: z.object({ min: Interval, max: Interval }),
    defaultTerms: StreamTermsSchema,
  })
  .refine(
    (t) => t.settleEveryBounds.min <= t.settleEveryBounds.max,
    'empty settle bounds',
  ) satisfies z.ZodType<NodePaymentTerms>;

/** Reads the node's payment terms. */
export function getPaymentTerms(baseUrl: string, f: typeof fetch = fetch): Promise<NodePaymentTerms> {
  return getJson(`${baseUrl}/v1/payment-terms`, NodePaymentTermsSchema, { fetch: f });
}
