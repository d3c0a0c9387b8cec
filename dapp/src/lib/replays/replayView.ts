// A replay as the watch session pays for it: the stream's view (creator, asset, payment terms) at the replay's price.

import type { StreamPaymentTerms } from '@persecond/contracts-client/browser';
import { creatorExposureSeconds, viewerExposureSeconds } from '@persecond/contracts-client/browser';
import type { PaymentRules } from '@persecond/signaling/protocol';
import { getPaymentTerms } from '../api/paymentTerms.ts';
import { getStream, type StreamView } from '../api/streams.ts';
import { config } from '../config.ts';
import type { ReplayInfo } from './api.ts';

/**
 * The replay of `info` as a stream view priced at the replay's price: the stream's terms from the directory while it
 * remembers the stream (a day after its end by default), else the node's default terms, which the admission then
 * corrects (a session always follows the rules its admission states). Each side's worst case at the replay's price.
 */
export async function replayStreamView(info: ReplayInfo): Promise<StreamView> {
  const url = config.PUBLIC_SIGNALING_URL;
  const [stream, node] = await Promise.all([
    getStream(url, info.streamId).catch(() => undefined),
    getPaymentTerms(url),
  ]);
  const { settleEveryBounds: _bounds, defaultTerms, ...windows } = node;
  const terms: StreamPaymentTerms = stream?.terms ?? defaultTerms;
  const rules: PaymentRules = stream?.rules ?? { ...windows, ...terms };
  const price = BigInt(info.pricePerSecond);
  return {
    streamId: info.streamId,
    title: info.title,
    creator: info.creator,
    asset: info.asset,
    pricePerSecond: info.pricePerSecond,
    metadataCid: stream?.metadataCid ?? '',
    live: false,
    viewers: 0,
    terms,
    rules,
    exposure: {
      creatorMax: (BigInt(creatorExposureSeconds(rules)) * price).toString(),
      viewerMax: (BigInt(viewerExposureSeconds(rules)) * price).toString(),
    },
    status: 'ended',
  };
}
