import { randomBytes } from 'node:crypto';

/** Input that is not RTMP as an encoder sends it: the connection is closed. */
export class RtmpProtocolError extends Error {
  override name = 'RtmpProtocolError';
}

/** One complete RTMP message. */
export interface RtmpMessage {
  typeId: number;
  streamId: number;
  timestamp: number;
  payload: Buffer;
}

/** Largest message accepted (a keyframe of a high-bitrate 1080p stream fits many times). */
const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
const HANDSHAKE_BYTES = 1536;

/** The message types this server handles. */
export const MSG = {
  setChunkSize: 1,
  abort: 2,
  ack: 3,
  userControl: 4,
  windowAckSize: 5,
  setPeerBandwidth: 6,
  audio: 8,
  video: 9,
  data: 18,
  command: 20,
} as const;

interface ChunkStream {
  timestamp: number;
  delta: number;
  length: number;
  typeId: number;
  streamId: number;
  extended: boolean;
  parts: Buffer[];
  received: number;
}

/**
 * The server side of RTMP's handshake (the simple one: S1 has zero version bytes, so ffmpeg's and OBS's librtmp skip
 * digest checks) and a chunk-stream reader turning the client's bytes into messages. `push` returns the bytes to send
 * back (S0+S1+S2 once C0+C1 arrived) and the messages completed so far; it throws RtmpProtocolError on bad input.
 */
export class RtmpReader {
  #buf: Buffer = Buffer.alloc(0);
  #phase: 'c0c1' | 'c2' | 'chunks' = 'c0c1';
  #chunkSize = 128;
  readonly #streams = new Map<number, ChunkStream>();

  push(data: Buffer): { reply?: Buffer; messages: RtmpMessage[] } {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, data]) : data;
    let reply: Buffer | undefined;
    if (this.#phase === 'c0c1') {
      if (this.#buf.length < 1) return { messages: [] };
      if (this.#buf[0] !== 3) throw new RtmpProtocolError(`not RTMP (version byte ${this.#buf[0]})`);
      if (this.#buf.length < 1 + HANDSHAKE_BYTES) return { messages: [] };
      const c1 = this.#buf.subarray(1, 1 + HANDSHAKE_BYTES);
      const s1 = Buffer.concat([Buffer.alloc(8), randomBytes(HANDSHAKE_BYTES - 8)]);
      reply = Buffer.concat([Buffer.from([3]), s1, c1]);
      this.#buf = this.#buf.subarray(1 + HANDSHAKE_BYTES);
      this.#phase = 'c2';
    }
    if (this.#phase === 'c2') {
      if (this.#buf.length < HANDSHAKE_BYTES) return { reply, messages: [] };
      this.#buf = this.#buf.subarray(HANDSHAKE_BYTES);
      this.#phase = 'chunks';
    }
    const messages: RtmpMessage[] = [];
    for (let m = this.#readChunk(); m !== null; m = this.#readChunk()) {
      if (m === undefined) continue;
      if (m.typeId === MSG.setChunkSize) {
        const size = m.payload.readUInt32BE(0) & 0x7fffffff;
        if (size < 1 || size > MAX_MESSAGE_BYTES) throw new RtmpProtocolError(`bad chunk size ${size}`);
        this.#chunkSize = size;
      } else if (m.typeId === MSG.abort) {
        this.#streams.get(m.payload.readUInt32BE(0))?.parts.splice(0);
      } else {
        messages.push(m);
      }
    }
    return { reply, messages };
  }

  /** One chunk: a message it completes, undefined when it completes none, null when more bytes are needed. */
  #readChunk(): RtmpMessage | undefined | null {
    const b = this.#buf;
    if (b.length < 1) return null;
    const fmt = (b[0] as number) >> 6;
    let csid = (b[0] as number) & 0x3f;
    let off = 1;
    if (csid === 0) {
      if (b.length < 2) return null;
      csid = (b[1] as number) + 64;
      off = 2;
    } else if (csid === 1) {
      if (b.length < 3) return null;
      csid = (b[1] as number) + (b[2] as number) * 256 + 64;
      off = 3;
    }
    const prev = this.#streams.get(csid);
    if (!prev && fmt !== 0) throw new RtmpProtocolError(`chunk stream ${csid} starts without a full header`);
    const headerLength = [11, 7, 3, 0][fmt] as number;
    if (b.length < off + headerLength) return null;
    const st: ChunkStream = prev
      ? { ...prev }
      : { timestamp: 0, delta: 0, length: 0, typeId: 0, streamId: 0, extended: false, parts: [], received: 0 };
    let ts = 0;
    if (fmt <= 2) ts = b.readUIntBE(off, 3);
    if (fmt <= 1) {
      st.length = b.readUIntBE(off + 3, 3);
      st.typeId = b[off + 6] as number;
      if (st.length > MAX_MESSAGE_BYTES) throw new RtmpProtocolError(`message of ${st.length} bytes`);
    }
    if (fmt === 0) st.streamId = b.readUInt32LE(off + 7);
    off += headerLength;
    const extended = fmt === 3 ? st.extended : ts === 0xffffff;
    if (extended) {
      if (b.length < off + 4) return null;
      ts = b.readUInt32BE(off);
      off += 4;
    }
    const take = Math.min(this.#chunkSize, st.length - st.received);
    if (b.length < off + take) return null;
    st.extended = extended;
    const starts = st.received === 0;
    if (fmt === 0) {
      st.timestamp = ts;
      st.delta = 0;
    } else if (fmt <= 2) {
      st.delta = ts;
      if (starts) st.timestamp += ts;
    } else if (starts) {
      st.timestamp += st.delta;
    }
    if (starts) st.parts = [];
    st.parts.push(b.subarray(off, off + take));
    st.received += take;
    this.#buf = b.subarray(off + take);
    this.#streams.set(csid, st);
    if (st.received < st.length) return undefined;
    st.received = 0;
    const payload = Buffer.concat(st.parts);
    st.parts = [];
    return { typeId: st.typeId, streamId: st.streamId, timestamp: st.timestamp >>> 0, payload };
  }
}

/** Serializes a message into chunks of `chunkSize` on chunk stream `csid` (type 0 header, then type 3). */
export function writeMessage(csid: number, m: RtmpMessage, chunkSize: number): Buffer {
  const out: Buffer[] = [];
  const header = Buffer.alloc(12);
  header[0] = csid & 0x3f;
  header.writeUIntBE(Math.min(m.timestamp, 0xffffff), 1, 3);
  header.writeUIntBE(m.payload.length, 4, 3);
  header[7] = m.typeId;
  header.writeUInt32LE(m.streamId, 8);
  out.push(header);
  // An extended timestamp follows the header, and every type 3 header of the message.
  const ext = m.timestamp >= 0xffffff ? Buffer.alloc(4) : undefined;
  ext?.writeUInt32BE(m.timestamp >>> 0);
  for (let i = 0; i < m.payload.length || i === 0; i += chunkSize) {
    if (i > 0) out.push(Buffer.from([0xc0 | (csid & 0x3f)]));
    if (ext) out.push(ext);
    out.push(m.payload.subarray(i, i + chunkSize));
    if (m.payload.length === 0) break;
  }
  return Buffer.concat(out);
}

/** An AMF0 value as far as RTMP's commands need. */
export type Amf = number | boolean | string | null | undefined | { [key: string]: Amf } | Amf[];

/** Decodes the AMF0 values of a command or data message. */
export function decodeAmf(buf: Buffer): Amf[] {
  const values: Amf[] = [];
  let off = 0;
  const need = (n: number) => {
    if (off + n > buf.length) throw new RtmpProtocolError('truncated AMF0');
  };
  const str = (long = false): string => {
    need(long ? 4 : 2);
    const n = long ? buf.readUInt32BE(off) : buf.readUInt16BE(off);
    off += long ? 4 : 2;
    need(n);
    const s = buf.toString('utf8', off, off + n);
    off += n;
    return s;
  };
  const props = (): { [key: string]: Amf } => {
    const o: { [key: string]: Amf } = {};
    for (;;) {
      const k = str();
      need(1);
      if (k === '' && buf[off] === 9) {
        off += 1;
        return o;
      }
      o[k] = value();
    }
  };
  const value = (): Amf => {
    need(1);
    const t = buf[off++];
    switch (t) {
      case 0:
        need(8);
        off += 8;
        return buf.readDoubleBE(off - 8);
      case 1:
        need(1);
        return buf[off++] !== 0;
      case 2:
        return str();
      case 3:
        return props();
      case 5:
        return null;
      case 6:
        return undefined;
      case 8:
        need(4);
        off += 4;
        return props();
      case 10: {
        need(4);
        const n = buf.readUInt32BE(off);
        off += 4;
        if (n > 10_000) throw new RtmpProtocolError('AMF0 array too long');
        return Array.from({ length: n }, () => value());
      }
      case 11:
        need(10);
        off += 10;
        return buf.readDoubleBE(off - 10);
      case 12:
        return str(true);
      default:
        throw new RtmpProtocolError(`AMF0 type ${t} not supported`);
    }
  };
  while (off < buf.length) values.push(value());
  return values;
}

/** Encodes AMF0 values (numbers, booleans, strings, null, plain objects). */
export function encodeAmf(values: Amf[]): Buffer {
  const out: Buffer[] = [];
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    const n = Buffer.alloc(2);
    n.writeUInt16BE(b.length);
    out.push(n, b);
  };
  const value = (v: Amf) => {
    if (typeof v === 'number') {
      const b = Buffer.alloc(9);
      b[0] = 0;
      b.writeDoubleBE(v, 1);
      out.push(b);
    } else if (typeof v === 'boolean') out.push(Buffer.from([1, v ? 1 : 0]));
    else if (typeof v === 'string') {
      out.push(Buffer.from([2]));
      str(v);
    } else if (v === null || v === undefined || Array.isArray(v)) out.push(Buffer.from([5]));
    else {
      out.push(Buffer.from([3]));
      for (const [k, x] of Object.entries(v)) {
        str(k);
        value(x);
      }
      out.push(Buffer.from([0, 0, 9]));
    }
  };
  for (const v of values) value(v);
  return Buffer.concat(out);
}

/** The FLV file header (audio and video) and the first PreviousTagSize. */
export const FLV_HEADER = Buffer.from([0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0]);

/** An audio or video message as an FLV tag (with its PreviousTagSize). */
export function flvTag(m: RtmpMessage): Buffer {
  const h = Buffer.alloc(11);
  h[0] = m.typeId;
  h.writeUIntBE(m.payload.length, 1, 3);
  h.writeUIntBE(m.timestamp & 0xffffff, 4, 3);
  h[7] = (m.timestamp >>> 24) & 0xff;
  const end = Buffer.alloc(4);
  end.writeUInt32BE(11 + m.payload.length);
  return Buffer.concat([h, m.payload, end]);
}

/** The H.264 profile of an FLV video message holding the AVC sequence header, as `profile-level-id` hex; else undefined. */
export function avcProfileOf(payload: Buffer): string | undefined {
  // FLV VideoTagHeader: frame type / codec id 7 (AVC), AVCPacketType 0 (sequence header), 3 bytes composition time,
  // then the AVCDecoderConfigurationRecord: version, profile_idc, constraint flags, level_idc.
  if (payload.length < 9 || ((payload[0] as number) & 0x0f) !== 7 || payload[1] !== 0) return undefined;
  return payload.subarray(6, 9).toString('hex');
}
