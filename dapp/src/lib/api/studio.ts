// Creating a stream on the signaling server (it pins the metadata to IPFS and returns the ids to announce).
import type { StreamPaymentTerms } from '@persecond/contracts-client/browser';
import { Planck, StreamId } from '@persecond/signaling/protocol';
import { z } from 'zod';
import type { AssetRef } from '../chain/types.ts';
import { postJson } from './http.ts';

/** What the creator fills in. */
export interface NewStream {
  title: string;
  description: string;
  pricePerSecond: bigint;
  asset: AssetRef;
  /** How often viewers settle, and whether they pay each window before watching it. */
  terms: StreamPaymentTerms;
}

const Created = z.object({ streamId: StreamId, metadataCid: z.string().min(1), pricePerSecond: Planck.optional() });

/** Creates the stream; the answer carries what the creator's wallet announces on chain. */
export function createStream(baseUrl: string, s: NewStream): Promise<z.infer<typeof Created>> {
  return postJson(
    `${baseUrl}/v1/streams`,
    {
      title: s.title,
      description: s.description,
      pricePerSecond: s.pricePerSecond.toString(),
      asset: s.asset,
      settleEverySeconds: s.terms.settleEverySeconds,
      payAhead: s.terms.payAhead,
    },
    Created,
  );
}
