import type { Registry } from '@polkadot/types/types';

/** A type of a runtime's portable type registry, as plain data. */
export type TypeDef =
  | { kind: 'composite'; fields: number[] }
  | { kind: 'variant'; variants: Map<number, Variant> }
  | { kind: 'sequence'; of: number }
  | { kind: 'array'; len: number; of: number }
  | { kind: 'tuple'; of: number[] }
  | { kind: 'primitive'; name: string }
  | { kind: 'compact'; of: number }
  | { kind: 'bits'; store: number };

/** One variant of an enum: its index byte, name and field types. */
export interface Variant {
  readonly index: number;
  readonly name: string;
  readonly fields: number[];
}

/** Moves past one value at `at`; returns the offset after it. */
export type Skip = (u8: Uint8Array, at: number) => number;
/** Reads one value at `at`; returns it and the offset after it. */
export type Decode = (u8: Uint8Array, at: number) => [unknown, number];

/** Bytes that do not follow the type, or a type this reader does not handle. */
export class ScaleError extends Error {}

const PRIMITIVE_SIZE: Record<string, number> = {
  Bool: 1,
  Char: 4,
  U8: 1,
  I8: 1,
  U16: 2,
  I16: 2,
  U32: 4,
  I32: 4,
  U64: 8,
  I64: 8,
  U128: 16,
  I128: 16,
  U256: 32,
  I256: 32,
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

function byteAt(u8: Uint8Array, at: number): number {
  const b = u8[at];
  if (b === undefined) throw new ScaleError(`read past the end (${at} of ${u8.length})`);
  return b;
}

/** Little-endian unsigned integer of `size` bytes: a number up to 4 bytes, a bigint above. */
export function readUint(u8: Uint8Array, at: number, size: number): number | bigint {
  if (at + size > u8.length) throw new ScaleError(`read past the end (${at + size} of ${u8.length})`);
  if (size <= 4) {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + u8[at + i]!;
    return v;
  }
  let v = 0n;
  if (size % 4 !== 0) {
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(u8[at + i]!);
    return v;
  }
  for (let i = size - 4; i >= 0; i -= 4) {
    const word = (u8[at + i]! | (u8[at + i + 1]! << 8) | (u8[at + i + 2]! << 16) | (u8[at + i + 3]! << 24)) >>> 0;
    v = (v << 32n) | BigInt(word);
  }
  return v;
}

/** A SCALE compact integer at `at`: its value and the offset after it. */
export function readCompact(u8: Uint8Array, at: number): [bigint, number] {
  const b = byteAt(u8, at);
  switch (b & 3) {
    case 0:
      return [BigInt(b >> 2), at + 1];
    case 1:
      return [BigInt((readUint(u8, at, 2) as number) >> 2), at + 2];
    case 2:
      return [BigInt((readUint(u8, at, 4) as number) >>> 2), at + 4];
    default: {
      const size = (b >> 2) + 4;
      const v = readUint(u8, at + 1, size);
      return [BigInt(v), at + 1 + size];
    }
  }
}

/** A compact length (of a sequence or byte string) that must fit in the bytes left. */
export function readLength(u8: Uint8Array, at: number): [number, number] {
  const [n, after] = readCompact(u8, at);
  if (n > BigInt(u8.length)) throw new ScaleError(`length ${n} at ${at} exceeds the ${u8.length} bytes`);
  return [Number(n), after];
}

function compactEnd(u8: Uint8Array, at: number): number {
  const b = byteAt(u8, at);
  const mode = b & 3;
  return at + (mode === 0 ? 1 : mode === 1 ? 2 : mode === 2 ? 4 : (b >> 2) + 5);
}

/**
 * Readers of one runtime's types, compiled from its portable type registry on first use: a skip for any type
 * (offsets only, no values built) and a decoder to plain values (numbers, bigints, Uint8Array for byte arrays and
 * vectors, arrays for tuples and multi-field structs, the field itself for single-field structs, `{name, values}`
 * for enums). `override` swaps in a reader of one's own for one type (e.g. calls as views).
 */
export class ScaleTypes {
  readonly #registry: Registry;
  readonly #defs = new Map<number, TypeDef>();
  readonly #sizes = new Map<number, number | undefined>();
  readonly #skips = new Map<number, Skip>();
  readonly #decoders = new Map<number, Decode>();

  constructor(registry: Registry) {
    this.#registry = registry;
  }

  /** The type `id` as plain data. */
  def(id: number): TypeDef {
    let def = this.#defs.get(id);
    if (!def) {
      def = this.#convert(id);
      this.#defs.set(id, def);
    }
    return def;
  }

  #convert(id: number): TypeDef {
    const { def } = this.#registry.lookup.getSiType(id);
    const ids = (list: { type: { toNumber(): number } }[]) => list.map((f) => f.type.toNumber());
    if (def.isComposite) return { kind: 'composite', fields: ids(def.asComposite.fields) };
    if (def.isVariant) {
      const variants = def.asVariant.variants.map((v) => ({
        index: v.index.toNumber(),
        name: v.name.toString(),
        fields: ids(v.fields),
      }));
      return { kind: 'variant', variants: new Map(variants.map((v) => [v.index, v])) };
    }
    if (def.isSequence) return { kind: 'sequence', of: def.asSequence.type.toNumber() };
    if (def.isArray) return { kind: 'array', len: def.asArray.len.toNumber(), of: def.asArray.type.toNumber() };
    if (def.isTuple) return { kind: 'tuple', of: def.asTuple.map((t) => t.toNumber()) };
    if (def.isPrimitive) return { kind: 'primitive', name: def.asPrimitive.type };
    if (def.isCompact) return { kind: 'compact', of: def.asCompact.type.toNumber() };
    if (def.isBitSequence) return { kind: 'bits', store: def.asBitSequence.bitStoreType.toNumber() };
    throw new ScaleError(`type ${id}: ${def.type} is not supported`);
  }

  /** Encoded size of `id` when every value of it has the same size; undefined otherwise. */
  fixedSize(id: number): number | undefined {
    if (this.#sizes.has(id)) return this.#sizes.get(id);
    this.#sizes.set(id, undefined); // a type that contains itself is not of fixed size
    const def = this.def(id);
    const sum = (types: number[]) => {
      let total = 0;
      for (const t of types) {
        const s = this.fixedSize(t);
        if (s === undefined) return undefined;
        total += s;
      }
      return total;
    };
    let size: number | undefined;
    if (def.kind === 'composite') size = sum(def.fields);
    else if (def.kind === 'tuple') size = sum(def.of);
    else if (def.kind === 'primitive') size = PRIMITIVE_SIZE[def.name];
    else if (def.kind === 'array') {
      const el = this.fixedSize(def.of);
      size = el === undefined ? undefined : el * def.len;
    }
    this.#sizes.set(id, size);
    return size;
  }

  /** A reader that replaces the compiled decoder of `id` (set before that type's decoders are compiled). */
  override(id: number, decode: Decode): void {
    this.#decoders.set(id, decode);
  }

  /** Moves past a value of `id`. */
  skipper(id: number): Skip {
    return compiled(this.#skips, id, () => this.#compileSkip(id));
  }

  #compileSkip(id: number): Skip {
    const size = this.fixedSize(id);
    if (size !== undefined) return (_u8, at) => at + size;
    const def = this.def(id);
    const all = (types: number[]): Skip => {
      const skips = types.map((t) => this.skipper(t));
      return (u8, at) => {
        for (const skip of skips) at = skip(u8, at);
        return at;
      };
    };
    switch (def.kind) {
      case 'composite':
        return all(def.fields);
      case 'tuple':
        return all(def.of);
      case 'variant': {
        const table: Array<Skip | undefined> = new Array(256);
        for (const v of def.variants.values()) table[v.index] = all(v.fields);
        return (u8, at) => {
          const skip = table[byteAt(u8, at)];
          if (!skip) throw new ScaleError(`type ${id}: no variant ${u8[at]}`);
          return skip(u8, at + 1);
        };
      }
      case 'sequence': {
        const el = this.fixedSize(def.of);
        if (el !== undefined) {
          return (u8, at) => {
            const [n, after] = readLength(u8, at);
            return after + n * el;
          };
        }
        const skip = this.skipper(def.of);
        return (u8, at) => {
          let [n, after] = readLength(u8, at);
          while (n-- > 0) after = skip(u8, after);
          return after;
        };
      }
      case 'array': {
        const skip = this.skipper(def.of);
        return (u8, at) => {
          for (let i = 0; i < def.len; i++) at = skip(u8, at);
          return at;
        };
      }
      case 'primitive':
        if (def.name !== 'Str') throw new ScaleError(`type ${id}: primitive ${def.name} is not supported`);
        return (u8, at) => {
          const [n, after] = readLength(u8, at);
          return after + n;
        };
      case 'compact':
        return compactEnd;
      case 'bits': {
        const store = this.fixedSize(def.store) ?? 1;
        return (u8, at) => {
          const [bits, after] = readCompact(u8, at);
          const words = (bits + BigInt(8 * store) - 1n) / BigInt(8 * store);
          return after + Number(words) * store;
        };
      }
    }
  }

  /** Reads a value of `id` as plain data. */
  decoder(id: number): Decode {
    return compiled(this.#decoders, id, () => this.#compileDecode(id));
  }

  #compileDecode(id: number): Decode {
    const def = this.def(id);
    const list = (types: number[]): Decode => {
      const decoders = types.map((t) => this.decoder(t));
      return (u8, at) => {
        const values = new Array<unknown>(decoders.length);
        for (let i = 0; i < decoders.length; i++) [values[i], at] = decoders[i]!(u8, at);
        return [values, at];
      };
    };
    const isByte = (t: number) => {
      const d = this.def(t);
      return d.kind === 'primitive' && d.name === 'U8';
    };
    switch (def.kind) {
      case 'composite':
        return def.fields.length === 1 ? this.decoder(def.fields[0]!) : list(def.fields);
      case 'tuple':
        return list(def.of);
      case 'variant': {
        const table: Array<{ name: string; decode: Decode } | undefined> = new Array(256);
        for (const v of def.variants.values()) table[v.index] = { name: v.name, decode: list(v.fields) };
        return (u8, at) => {
          const v = table[byteAt(u8, at)];
          if (!v) throw new ScaleError(`type ${id}: no variant ${u8[at]}`);
          const [values, after] = v.decode(u8, at + 1);
          return [{ name: v.name, values }, after];
        };
      }
      case 'sequence': {
        if (isByte(def.of)) {
          return (u8, at) => {
            const [n, after] = readLength(u8, at);
            if (after + n > u8.length) throw new ScaleError(`bytes past the end at ${after}`);
            return [u8.slice(after, after + n), after + n];
          };
        }
        const decode = this.decoder(def.of);
        return (u8, at) => {
          const [n, after] = readLength(u8, at);
          const values = new Array<unknown>(n);
          at = after;
          for (let i = 0; i < n; i++) [values[i], at] = decode(u8, at);
          return [values, at];
        };
      }
      case 'array': {
        if (isByte(def.of)) {
          return (u8, at) => {
            if (at + def.len > u8.length) throw new ScaleError(`bytes past the end at ${at}`);
            return [u8.slice(at, at + def.len), at + def.len];
          };
        }
        return list(new Array<number>(def.len).fill(def.of));
      }
      case 'primitive':
        return primitiveDecoder(def.name);
      case 'compact':
        return readCompact;
      case 'bits': {
        const skip = this.skipper(id);
        return (u8, at) => [undefined, skip(u8, at)];
      }
    }
  }
}

/** The reader of `id` in `cache`, compiled on first use; a type that contains itself meets a forwarder meanwhile. */
function compiled<F extends (u8: Uint8Array, at: number) => unknown>(
  cache: Map<number, F>,
  id: number,
  compile: () => F,
): F {
  const known = cache.get(id);
  if (known) return known;
  let built: F | undefined;
  cache.set(id, ((u8: Uint8Array, at: number) => built!(u8, at)) as F);
  built = compile();
  cache.set(id, built);
  return built;
}

function primitiveDecoder(name: string): Decode {
  if (name === 'Bool') return (u8, at) => [byteAt(u8, at) === 1, at + 1];
  if (name === 'Str') {
    return (u8, at) => {
      const [n, after] = readLength(u8, at);
      return [utf8.decode(u8.subarray(after, after + n)), after + n];
    };
  }
  const size = PRIMITIVE_SIZE[name];
  if (size === undefined) throw new ScaleError(`primitive ${name} is not supported`);
  if (name === 'Char') return (u8, at) => [String.fromCodePoint(readUint(u8, at, 4) as number), at + 4];
  if (name.startsWith('U')) return (u8, at) => [readUint(u8, at, size), at + size];
  const bits = size * 8;
  return (u8, at) => {
    const v = readUint(u8, at, size);
    const signed = typeof v === 'bigint' ? BigInt.asIntN(bits, v) : v >= 2 ** (bits - 1) ? v - 2 ** bits : v;
    return [signed, at + size];
  };
}
