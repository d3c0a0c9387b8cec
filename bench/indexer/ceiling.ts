import type { ChainClient } from '@persecond/contracts-client';
import {
  ChainReader,
  type DecodeStats,
  decodeRawBlock,
  type IndexedBlock,
  type RawBlock,
  type ReadWindow,
  RuntimeRegistries,
} from '@persecond/indexer';

/** One pass of raw reads over blocks 0..head at one read window, without decoding or writing. */
export interface CeilingRun {
  chunkSize: number;
  concurrency: number;
  seconds: number;
  blocksPerSecond: number;
}

/** Raw reads of blocks 0..head as the follower issues them (one hash request per chunk, two requests per block). */
export async function readRawOnce(
  client: ChainClient,
  head: number,
  window: ReadWindow,
): Promise<CeilingRun & { raws: RawBlock[] }> {
  const reader = new ChainReader(client.api);
  const chunks: Array<[number, number]> = [];
  for (let from = 0; from <= head; from += window.chunkSize) {
    chunks.push([from, Math.min(from + window.chunkSize - 1, head)]);
  }
  const out: RawBlock[][] = new Array(chunks.length);
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const i = next++;
      const [from, to] = chunks[i]!;
      const hashes = await reader.hashes(Array.from({ length: to - from + 1 }, (_, k) => from + k));
      const raws = await Promise.all(hashes.map((h) => reader.block(h!)));
      out[i] = raws as RawBlock[];
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: window.concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const raws = out.flat();
  if (raws.length !== head + 1 || raws.some((r) => !r)) throw new Error(`read ${raws.length} of ${head + 1} blocks`);
  return { ...window, seconds, blocksPerSecond: raws.length / seconds, raws };
}

/**
 * Decodes raw blocks as the follower does (runtime version per chunk, registry per version); timed. `stats` counts
 * what the lean decoder read and where polkadot-js had to instead.
 */
export async function decodeOnce(
  client: ChainClient,
  raws: readonly RawBlock[],
  chunkSize: number,
): Promise<{ seconds: number; blocks: IndexedBlock[]; stats: DecodeStats }> {
  const reader = new ChainReader(client.api);
  const api = client.api;
  const runtimes = new RuntimeRegistries(reader, {
    specVersion: api.runtimeVersion.specVersion.toNumber(),
    registry: api.registry,
  });
  const stats: DecodeStats = { lean: 0, fallback: 0 };
  const t0 = performance.now();
  const blocks: IndexedBlock[] = [];
  for (let i = 0; i < raws.length; i += chunkSize) {
    const chunk = raws.slice(i, i + chunkSize);
    const registries = await runtimes.registriesOf(chunk);
    chunk.forEach((raw, k) => {
      blocks.push(decodeRawBlock(raw, registries[k]!.registry, 42, stats));
    });
  }
  return { seconds: (performance.now() - t0) / 1000, blocks, stats };
}
