import type { IpfsConfig } from './config.ts';
import { createHeliaPinner } from './HeliaPinner.ts';
import { createKuboPinner } from './KuboPinner.ts';
import type { Pinner } from './Pinner.ts';

/** Opens the backend the configuration names: Kubo RPC when a URL is configured, embedded Helia otherwise. */
export function createPinner(config: IpfsConfig): Promise<Pinner> {
  return config.backend === 'kubo'
    ? createKuboPinner({ url: config.url, timeoutMs: config.timeoutMs })
    : createHeliaPinner({ dir: config.dir });
}
