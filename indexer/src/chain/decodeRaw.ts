import { decodeBlockParts, type EventRecordView, type ExtrinsicView, REMARK_PREFIX } from '@persecond/contracts-client';
import type { GenericExtrinsic } from '@polkadot/types';
import type { EventRecord } from '@polkadot/types/interfaces';
import type { Registry } from '@polkadot/types/types';
import { compactFromU8a, hexToU8a, stringToHex } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';
import { IndexerError } from '../errors.ts';
import type { RawBlock } from './ChainReader.ts';
import type { IndexedBlock } from './IndexedBlock.ts';
import { LeanRuntime } from './scale/LeanRuntime.ts';

/** The protocol's remark prefix as it appears in an extrinsic's hex (a remark's bytes are encoded verbatim). */
const REMARK_MARK = stringToHex(REMARK_PREFIX).slice(2);

/** How a block was decoded: by the lean decoder, or by polkadot-js where the lean one declined (counted). */
export interface DecodeStats {
  lean: number;
  fallback: number;
}

/** Is this SCALE extrinsic an unsigned `timestamp.set`? Reads its version byte and call index only. */
function isTimestampSet(registry: Registry, bytes: Uint8Array): boolean {
  const [offset] = compactFromU8a(bytes);
  const version = bytes[offset];
  // Signed (bit 7 set) extrinsics are never the inherent; bare v4/v5 ones have the call index right after.
  if (version === undefined || (version & 0x80) !== 0 || bytes.length < offset + 3) return false;
  try {
    const call = registry.findMetaCall(bytes.subarray(offset + 1, offset + 3));
    return call.section === 'timestamp' && call.method === 'set';
  } catch {
    return false;
  }
}

/** Registries whose metadata has a shape the lean decoder does not know (tried once). */
const declined = new WeakSet<Registry>();

/** The lean runtime of `registry`, or undefined when it declined that runtime's metadata. */
function leanOf(registry: Registry): LeanRuntime | undefined {
  if (declined.has(registry)) return undefined;
  try {
    return LeanRuntime.of(registry);
  } catch {
    declined.add(registry);
    return undefined;
  }
}

/** An extrinsic decoded leanly, else (a format or bytes the lean decoder declines) by polkadot-js. */
function decodeExtrinsic(registry: Registry, hex: string, stats?: DecodeStats): ExtrinsicView {
  const lean = leanOf(registry);
  if (lean) {
    try {
      const ex = lean.decodeExtrinsic(hexToU8a(hex));
      if (ex) {
        if (stats) stats.lean++;
        return ex;
      }
    } catch {
      // polkadot-js decides below: it decodes what the lean decoder does not handle, and fails on broken bytes.
    }
  }
  if (stats) stats.fallback++;
  return registry.createType('Extrinsic', hex) as unknown as GenericExtrinsic;
}

/** The block's event records, leanly, else by polkadot-js. */
function decodeEvents(registry: Registry, hex: string, stats?: DecodeStats): readonly EventRecordView[] {
  const lean = leanOf(registry);
  if (lean) {
    try {
      const records = lean.events(hexToU8a(hex));
      if (stats) stats.lean++;
      return records;
    } catch {
      // as in decodeExtrinsic
    }
  }
  if (stats) stats.fallback++;
  return [...registry.createType('Vec<EventRecord>', hex)] as EventRecord[];
}

/** The block's time from its `timestamp.set` inherent; genesis has none (time 0). */
function blockTime(raw: RawBlock, registry: Registry, stats?: DecodeStats): Date {
  for (const hex of raw.extrinsics) {
    // Only the head matters: the length prefix (≤ 5 bytes), the version byte and the call index.
    if (!isTimestampSet(registry, hexToU8a(hex.slice(0, 2 + 2 * 8)))) continue;
    const now = decodeExtrinsic(registry, hex, stats).method.args[0] as { toString(): string };
    return new Date(Number(now.toString()));
  }
  if (raw.number === 0) return new Date(0);
  throw new IndexerError('CHAIN_DATA_INVALID', `block ${raw.number} (${raw.hash}) has no timestamp.set inherent`);
}

/**
 * Decodes a raw block with the registry of the runtime it was built with: its time and protocol events
 * (contracts-client's decoding). Only what can carry protocol events is decoded: the event records when some extrinsic
 * holds the `ps1:` remark prefix at all, then only the extrinsics with a `System.Remarked` event, and the timestamp
 * inherent; the rest (the parachain's large validation-data inherent among them) is skipped. Records and extrinsics
 * go through the lean decoder (scale/LeanRuntime.ts: values built only for what protocol decoding reads), with
 * polkadot-js codecs where it declines; `stats` counts which. A decoding failure is fatal (DECODE_FAILED): retrying
 * cannot change the bytes.
 */
export function decodeRawBlock(raw: RawBlock, registry: Registry, ss58: number, stats?: DecodeStats): IndexedBlock {
  try {
    const block = { hash: raw.hash, number: raw.number, parentHash: raw.parentHash };
    // No extrinsic holds the remark prefix: the block has no protocol event, its events need no decoding.
    if (!raw.extrinsics.some((hex) => hex.includes(REMARK_MARK))) {
      return { ...block, events: [], time: blockTime(raw, registry, stats) };
    }
    const records = decodeEvents(registry, raw.events, stats);
    const remarked = new Set<number>();
    for (const r of records) {
      if (r.phase.isApplyExtrinsic && r.event.section === 'system' && r.event.method === 'Remarked') {
        remarked.add(r.phase.asApplyExtrinsic.toNumber());
      }
    }
    const extrinsics = [...remarked]
      .filter((index) => raw.extrinsics[index]?.includes(REMARK_MARK) !== false)
      .sort((a, b) => a - b)
      .map((index) => {
        const hex = raw.extrinsics[index];
        if (hex === undefined) throw new Error(`event of extrinsic ${index}, which the block does not have`);
        return [index, decodeExtrinsic(registry, hex, stats), blake2AsHex(hex, 256)] as const;
      });
    return { ...decodeBlockParts(block, extrinsics, records, ss58), time: blockTime(raw, registry, stats) };
  } catch (err) {
    if (err instanceof IndexerError) throw err;
    const detail = err instanceof Error ? err.message : String(err);
    throw new IndexerError('DECODE_FAILED', `block ${raw.number} (${raw.hash}) does not decode: ${detail}`, {
      cause: err,
    });
  }
}
