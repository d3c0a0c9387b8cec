import type * as Mediasoup from 'mediasoup';
import { useCachedWorkerBin } from './workerBin.ts';

type MediasoupModule = typeof Mediasoup;

let loading: Promise<MediasoupModule> | undefined;

/** Imports mediasoup once, after pointing it at the cached worker binary (it reads the path at module load). */
export function loadMediasoup(): Promise<MediasoupModule> {
  loading ??= (async () => {
    useCachedWorkerBin();
    const mod = (await import('mediasoup')) as MediasoupModule & { default?: MediasoupModule };
    return mod.default ?? mod;
  })();
  return loading;
}
