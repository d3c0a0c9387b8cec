import type { AccountView, CallView, EventRecordView, ExtrinsicView } from '@persecond/contracts-client';
import type { Registry } from '@polkadot/types/types';
import { stringCamelCase, u8aToHex } from '@polkadot/util';
import { blake2AsHex, encodeAddress } from '@polkadot/util-crypto';
import { type Decode, ScaleError, ScaleTypes, type Skip, type Variant } from './ScaleTypes.ts';

/** Events whose fields are read (by contracts-client decodeBlockParts); the others keep only their names. */
const EVENTS_WITH_DATA = new Set(['balances.Transfer', 'assets.Transferred']);

/** Calls whose arguments are read: batches (their calls), remarks (their bytes), the timestamp inherent. */
function argsWanted(section: string, method: string): boolean {
  return section === 'utility' || (section === 'system' && method.startsWith('remark')) || section === 'timestamp';
}

/** An account from its 32 bytes; the SS58 text is built only when asked (decodeBlockParts caches it by bytes). */
class RawAccount implements AccountView {
  readonly #bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }
  toHex(): string {
    return u8aToHex(this.#bytes);
  }
  toString(): string {
    return encodeAddress(this.#bytes, 42);
  }
}

class LeanRecord implements EventRecordView {
  readonly phase: EventRecordView['phase'];
  readonly event: EventRecordView['event'];
  constructor(extrinsic: number | undefined, section: string, method: string, data: unknown[]) {
    this.phase = {
      isApplyExtrinsic: extrinsic !== undefined,
      asApplyExtrinsic: {
        toNumber: () => {
          if (extrinsic === undefined) throw new ScaleError('not an ApplyExtrinsic phase');
          return extrinsic;
        },
      },
    };
    this.event = { section, method, data };
  }
}

interface EventInfo {
  readonly section: string;
  readonly method: string;
  readonly skip: Skip;
  readonly fields?: Decode[];
}

interface CallInfo {
  readonly section: string;
  readonly method: string;
  readonly skip: Skip;
  readonly args?: Decode[];
}

/** Where a signed extrinsic's call starts: after its signer, signature and extensions. */
interface SignedLayout {
  readonly address: Decode;
  readonly signature: Skip;
  readonly extra: Skip;
}

const NO_SIGNER: AccountView = { toHex: () => '0x', toString: () => '' };
const cache = new WeakMap<Registry, LeanRuntime>();

/**
 * A lean decoder of one runtime's event records and extrinsics, compiled from its metadata: it walks every event
 * record but builds values only for the events and calls protocol decoding reads (EVENTS_WITH_DATA, argsWanted),
 * skipping the rest by offsets. What it returns satisfies contracts-client's views, so decodeBlockParts gives the same
 * result as with polkadot-js codecs. It throws ScaleError on bytes or formats it does not handle (the caller falls
 * back to polkadot-js then); `decodeExtrinsic` returns undefined for an extrinsic format other than v4.
 */
export class LeanRuntime {
  readonly #types: ScaleTypes;
  readonly #events: Array<Array<EventInfo | undefined> | undefined> = [];
  readonly #calls: Array<Array<CallInfo | undefined> | undefined> = [];
  readonly #records: { phase: number; applyExtrinsic: number; topics: Skip };
  readonly #signed: SignedLayout | undefined;

  /** The lean runtime of `registry` (built once per registry). */
  static of(registry: Registry): LeanRuntime {
    let lean = cache.get(registry);
    if (!lean) {
      lean = new LeanRuntime(registry);
      cache.set(registry, lean);
    }
    return lean;
  }

  constructor(registry: Registry) {
    const types = new ScaleTypes(registry);
    this.#types = types;
    const meta = registry.metadata;
    const sections = new Map(meta.pallets.map((p) => [p.index.toNumber(), stringCamelCase(p.name.toString())]));
    const variants = (id: number) => {
      const def = types.def(id);
      if (def.kind !== 'variant') throw new ScaleError(`type ${id} is not an enum`);
      return def.variants;
    };
    /** Each pallet's inner enum (its events or calls), from the outer enum whose variants are the pallets. */
    const perPallet = (outer: number, each: (pallet: number, section: string, v: Variant) => void) => {
      for (const pallet of variants(outer).values()) {
        const section = sections.get(pallet.index) ?? stringCamelCase(pallet.name);
        const [inner] = pallet.fields;
        if (pallet.fields.length !== 1 || inner === undefined) throw new ScaleError(`pallet ${section}: not one enum`);
        for (const v of variants(inner).values()) each(pallet.index, section, v);
      }
    };

    const system = meta.pallets.find((p) => p.name.eq('System'));
    const item = system?.storage.unwrapOr(undefined)?.items.find((i) => i.name.eq('Events'));
    if (!item?.type.isPlain) throw new ScaleError('no System.Events storage');
    const vec = types.def(item.type.asPlain.toNumber());
    if (vec.kind !== 'sequence') throw new ScaleError('System.Events is not a sequence');
    const record = types.def(vec.of);
    if (record.kind !== 'composite' || record.fields.length !== 3) throw new ScaleError('unknown EventRecord shape');
    const [phase, event, topics] = record.fields as [number, number, number];
    const apply = [...variants(phase).values()].find((v) => v.name === 'ApplyExtrinsic');
    if (apply?.fields.length !== 1 || types.fixedSize(apply.fields[0]!) !== 4) {
      throw new ScaleError('unknown Phase shape');
    }
    this.#records = { phase, applyExtrinsic: apply.index, topics: types.skipper(topics) };
    perPallet(event, (pallet, section, v) => {
      const wanted = EVENTS_WITH_DATA.has(`${section}.${v.name}`);
      const info: EventInfo = {
        section,
        method: v.name,
        skip: composite(types, v.fields),
        ...(wanted ? { fields: v.fields.map((f) => types.decoder(f)) } : {}),
      };
      const table = this.#events[pallet] ?? [];
      table[v.index] = info;
      this.#events[pallet] = table;
    });

    const ex = meta.extrinsic;
    const callType = ex.callType.toNumber();
    types.override(callType, (u8, at) => this.#decodeCall(u8, at));
    perPallet(callType, (pallet, section, v) => {
      const method = stringCamelCase(v.name);
      const info: CallInfo = {
        section,
        method,
        skip: composite(types, v.fields),
        ...(argsWanted(section, method) ? { args: v.fields.map((f) => types.decoder(f)) } : {}),
      };
      const table = this.#calls[pallet] ?? [];
      table[v.index] = info;
      this.#calls[pallet] = table;
    });
    this.#signed = signedLayout(types, registry);
  }

  /** The event records of a block's `System.Events` storage, in order. */
  events(u8: Uint8Array): EventRecordView[] {
    const [n, start] = readVecLength(u8);
    const out = new Array<EventRecordView>(n);
    let at = start;
    const { phase, applyExtrinsic, topics } = this.#records;
    const skipPhase = this.#types.skipper(phase);
    for (let i = 0; i < n; i++) {
      let extrinsic: number | undefined;
      if (u8[at] === applyExtrinsic) {
        extrinsic = (u8[at + 1]! | (u8[at + 2]! << 8) | (u8[at + 3]! << 16) | (u8[at + 4]! << 24)) >>> 0;
        at += 5;
      } else {
        at = skipPhase(u8, at);
      }
      const info = this.#events[u8[at]!]?.[u8[at + 1]!];
      if (!info) throw new ScaleError(`record ${i}: unknown event ${u8[at]}:${u8[at + 1]}`);
      at += 2;
      let data: unknown[] = [];
      if (info.fields) {
        data = new Array(info.fields.length);
        for (let f = 0; f < info.fields.length; f++) [data[f], at] = info.fields[f]!(u8, at);
        data = data.map((v) => (v instanceof Uint8Array && v.length === 32 ? new RawAccount(v) : v));
      } else {
        at = info.skip(u8, at);
      }
      at = topics(u8, at);
      out[i] = new LeanRecord(extrinsic, info.section, info.method, data);
    }
    if (at !== u8.length) throw new ScaleError(`event records end at ${at} of ${u8.length} bytes`);
    return out;
  }

  /** A v4 extrinsic (with its length prefix); undefined for another format, or a signer that is not an account id. */
  decodeExtrinsic(u8: Uint8Array): ExtrinsicView | undefined {
    const [len, start] = readVecLength(u8);
    if (start + len !== u8.length) throw new ScaleError(`extrinsic of ${len} bytes in ${u8.length - start}`);
    const version = u8[start]!;
    if ((version & 0x7f) !== 4) return undefined;
    const isSigned = (version & 0x80) !== 0;
    let at = start + 1;
    let signer = NO_SIGNER;
    if (isSigned) {
      if (!this.#signed) return undefined;
      const [address, after] = this.#signed.address(u8, at);
      const id = address as { name?: string; values?: unknown[] };
      const bytes = id.name === 'Id' ? id.values?.[0] : undefined;
      if (!(bytes instanceof Uint8Array) || bytes.length !== 32) return undefined;
      signer = new RawAccount(bytes);
      at = this.#signed.extra(u8, this.#signed.signature(u8, after));
    }
    const [method, end] = this.#decodeCall(u8, at);
    if (end !== u8.length) throw new ScaleError(`call ends at ${end} of ${u8.length} bytes`);
    return { isSigned, method, signer, hash: { toHex: () => blake2AsHex(u8, 256) } };
  }

  #decodeCall(u8: Uint8Array, at: number): [CallView, number] {
    const info = this.#calls[u8[at]!]?.[u8[at + 1]!];
    if (!info) throw new ScaleError(`unknown call ${u8[at]}:${u8[at + 1]}`);
    at += 2;
    if (!info.args) return [{ section: info.section, method: info.method, args: [] }, info.skip(u8, at)];
    const args = new Array<unknown>(info.args.length);
    for (let i = 0; i < info.args.length; i++) [args[i], at] = info.args[i]!(u8, at);
    return [{ section: info.section, method: info.method, args }, at];
  }
}

function composite(types: ScaleTypes, fields: number[]): Skip {
  const skips = fields.map((f) => types.skipper(f));
  return (u8, at) => {
    for (const skip of skips) at = skip(u8, at);
    return at;
  };
}

function readVecLength(u8: Uint8Array): [number, number] {
  const b = u8[0];
  if (b === undefined) throw new ScaleError('no bytes');
  const mode = b & 3;
  if (mode === 0) return [b >> 2, 1];
  if (mode === 1) return [(b | (u8[1]! << 8)) >> 2, 2];
  if (mode === 2) return [((b | (u8[1]! << 8) | (u8[2]! << 16) | (u8[3]! << 24)) >>> 2) >>> 0, 4];
  throw new ScaleError('length beyond 2^30');
}

/**
 * How a signed v4 extrinsic lays out its signer, signature and extensions (in metadata order; the versions map's
 * entry for extension version 0 when it has several); undefined when the metadata does not say.
 */
function signedLayout(types: ScaleTypes, registry: Registry): SignedLayout | undefined {
  const ex = registry.metadata.extrinsic;
  const address = ex.addressType.toNumber();
  const signature = ex.signatureType.toNumber();
  const addressDef = types.def(address);
  if (addressDef.kind !== 'variant' || ![...addressDef.variants.values()].some((v) => v.name === 'Id')) {
    return undefined;
  }
  const all = ex.transactionExtensions.map((e) => e.type.toNumber());
  const byVersion = [...ex.transactionExtensionsByVersion.entries()].map(
    ([v, list]) => [v.toNumber(), list.map((i) => i.toNumber())] as const,
  );
  const chosen = byVersion.length === 1 ? byVersion[0]![1] : byVersion.find(([v]) => v === 0)?.[1];
  const extra = chosen ? chosen.map((i) => all[i]!) : all;
  return { address: types.decoder(address), signature: types.skipper(signature), extra: composite(types, extra) };
}
