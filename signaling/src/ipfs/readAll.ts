import { u8aConcatStrict } from '@polkadot/util';
import { IpfsError } from './errors.ts';

/**
 * Concatenates a stream of chunks, rejecting with IPFS_TOO_LARGE as soon as it exceeds `maxBytes`; stops (closing
 * the stream) when `signal` aborts.
 */
export async function readAll(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  maxBytes: number,
  what: string,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    signal?.throwIfAborted();
    size += chunk.byteLength;
    if (size > maxBytes) throw new IpfsError('IPFS_TOO_LARGE', `${what} is larger than ${maxBytes} bytes`);
    parts.push(chunk);
  }
  return u8aConcatStrict(parts, size);
}
