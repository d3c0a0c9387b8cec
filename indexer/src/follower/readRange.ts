import type { ChainReader, RawBlock } from '../chain/ChainReader.ts';
import { decodeRawBlock } from '../chain/decodeRaw.ts';
import type { IndexedBlock } from '../chain/IndexedBlock.ts';
import type { RuntimeRegistries } from '../chain/RuntimeRegistries.ts';

/** How many blocks are read at once. */
export interface ReadWindow {
  /** Consecutive blocks per chunk: one `chain_getBlockHash` request and one runtime version check per chunk. */
  chunkSize: number;
  /** Chunks in flight at once (their blocks' requests all outstanding together). */
  concurrency: number;
}

/** What reading needs: the raw reads, the registries per runtime version, the address format. */
export interface BlockSource {
  readonly reader: ChainReader;
  readonly runtimes: RuntimeRegistries;
  readonly ss58: number;
}

/** Reads and decodes blocks `from..to`; stops at the first block the chain does not (or no longer) have. */
async function readChunk(src: BlockSource, from: number, to: number): Promise<IndexedBlock[]> {
  const numbers = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const hashes = await src.reader.hashes(numbers);
  const known = hashes.indexOf(undefined);
  const wanted = (known === -1 ? hashes : hashes.slice(0, known)) as string[];
  const raws = await Promise.all(wanted.map((hash) => src.reader.block(hash)));
  const missing = raws.indexOf(undefined);
  const blocks = (missing === -1 ? raws : raws.slice(0, missing)) as RawBlock[];
  const registries = await src.runtimes.registriesOf(blocks);
  return blocks.map((raw, i) => decodeRawBlock(raw, registries[i]!.registry, src.ss58));
}

/**
 * Reads blocks `from..to` in chunks, `window.concurrency` chunks in flight, and yields them decoded in chain order:
 * the consumer writes one while the next are still being fetched. A chunk shorter than asked means the chain ended
 * (or moved) there, and nothing after it is yielded. Hash, parent and reorg checks are the consumer's.
 */
export async function* readRange(
  src: BlockSource,
  from: number,
  to: number,
  window: ReadWindow,
): AsyncGenerator<IndexedBlock[]> {
  const inFlight: Array<{ size: number; blocks: Promise<IndexedBlock[]> }> = [];
  let next = from;
  const launch = () => {
    const end = Math.min(next + window.chunkSize - 1, to);
    const blocks = readChunk(src, next, end);
    // Chunks still in flight when the consumer stops early are dropped; their failures are not unhandled.
    blocks.catch(() => {});
    inFlight.push({ size: end - next + 1, blocks });
    next = end + 1;
  };
  while (inFlight.length < window.concurrency && next <= to) launch();
  while (inFlight.length > 0) {
    const chunk = inFlight.shift()!;
    const blocks = await chunk.blocks;
    if (blocks.length < chunk.size) {
      if (blocks.length > 0) yield blocks;
      return;
    }
    if (next <= to) launch();
    yield blocks;
  }
}
