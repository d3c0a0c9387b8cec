// The RTMP reader on hand-made bytes: the handshake reply, messages split over chunks of every header type (with
// timestamp deltas and extended timestamps), a set chunk size, AMF0 both ways, and input that is not RTMP.
import { describe, expect, it } from 'vitest';
import {
  avcProfileOf,
  decodeAmf,
  encodeAmf,
  MSG,
  RtmpProtocolError,
  RtmpReader,
  writeMessage,
} from '../../src/ingest/rtmpProtocol.ts';

const handshake = () => Buffer.concat([Buffer.from([3]), Buffer.alloc(1536, 7), Buffer.alloc(1536, 9)]);

/** A chunk with a type 1 (fmt 1) or type 2 (fmt 2) header on chunk stream `csid`. */
function chunk(fmt: 1 | 2 | 3, csid: number, delta: number, payload: Buffer, typeId = MSG.audio): Buffer {
  const h = Buffer.alloc(fmt === 1 ? 8 : fmt === 2 ? 4 : 1);
  h[0] = (fmt << 6) | csid;
  if (fmt !== 3) h.writeUIntBE(delta, 1, 3);
  if (fmt === 1) {
    h.writeUIntBE(payload.length, 4, 3);
    h[7] = typeId;
  }
  return Buffer.concat([h, payload]);
}

describe('RtmpReader', () => {
  it('answers C0+C1 with S0+S1+S2 (S2 echoes C1, S1 has zero version bytes), whatever the bytes are split into', () => {
    const r = new RtmpReader();
    const bytes = handshake();
    expect(r.push(bytes.subarray(0, 100))).toEqual({ messages: [] });
    const { reply } = r.push(bytes.subarray(100, 1537));
    expect(reply?.length).toBe(1 + 1536 * 2);
    expect(reply?.[0]).toBe(3);
    expect(reply?.subarray(5, 9)).toEqual(Buffer.alloc(4));
    expect(reply?.subarray(1537)).toEqual(Buffer.alloc(1536, 7));
    expect(r.push(bytes.subarray(1537)).messages).toEqual([]);
  });

  it('joins chunks into messages across header types, chunk sizes and timestamp deltas', () => {
    const r = new RtmpReader();
    r.push(handshake());
    const big = Buffer.alloc(300, 1);
    const setSize = Buffer.alloc(4);
    setSize.writeUInt32BE(200);
    const bytes = Buffer.concat([
      // A 300-byte video message at t=1000 in 128-byte chunks (fmt 0 then fmt 3).
      writeMessage(6, { typeId: MSG.video, streamId: 1, timestamp: 1000, payload: big }, 128),
      writeMessage(2, { typeId: MSG.setChunkSize, streamId: 0, timestamp: 0, payload: setSize }, 128),
      // Audio: fmt 0 at 20, then fmt 1 (+23, new length), fmt 2 (+21), fmt 3 (+21 again).
      writeMessage(4, { typeId: MSG.audio, streamId: 1, timestamp: 20, payload: Buffer.from([1, 2]) }, 200),
      chunk(1, 4, 23, Buffer.from([3, 4, 5])),
      chunk(2, 4, 21, Buffer.from([6, 7, 8])),
      chunk(3, 4, 0, Buffer.from([9, 10, 11])),
      // After the chunk size went to 200, a 300-byte message comes in two chunks.
      writeMessage(6, { typeId: MSG.video, streamId: 1, timestamp: 0xffffff + 5, payload: big }, 200),
    ]);
    const messages = [];
    for (let i = 0; i < bytes.length; i += 37) messages.push(...r.push(bytes.subarray(i, i + 37)).messages);
    expect(messages.map((m) => [m.typeId, m.timestamp, m.payload.length])).toEqual([
      [MSG.video, 1000, 300],
      [MSG.audio, 20, 2],
      [MSG.audio, 43, 3],
      [MSG.audio, 64, 3],
      [MSG.audio, 85, 3],
      [MSG.video, 0xffffff + 5, 300],
    ]);
    expect(messages[0]?.payload).toEqual(big);
  });

  it('refuses what is not RTMP: another version byte, a chunk stream without a full header, a huge message', () => {
    expect(() => new RtmpReader().push(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(RtmpProtocolError);
    const r = new RtmpReader();
    r.push(handshake());
    expect(() => r.push(Buffer.from([0x45, 0, 0, 0]))).toThrow(/without a full header/);
    const huge = Buffer.from([0x03, 0, 0, 0, 0xff, 0xff, 0xff, 9, 1, 0, 0, 0]);
    expect(() => new RtmpReader().push(Buffer.concat([handshake(), huge]))).toThrow(/message of/);
  });
});

describe('AMF0', () => {
  it('round-trips a connect command and reads the publish arguments', () => {
    const values = ['connect', 1, { app: 'live', tcUrl: 'rtmp://127.0.0.1/live', fpad: false }, null];
    expect(decodeAmf(encodeAmf(values))).toEqual(values);
    expect(decodeAmf(encodeAmf(['publish', 5, null, 'psk_x', 'live']))).toEqual(['publish', 5, null, 'psk_x', 'live']);
    expect(() => decodeAmf(Buffer.from([2, 0, 9, 65]))).toThrow(/truncated/);
    expect(() => decodeAmf(Buffer.from([0x11]))).toThrow(/not supported/);
  });

  it('reads the H.264 profile of an AVC sequence header', () => {
    const header = Buffer.from([0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x1e, 0xff]);
    expect(avcProfileOf(header)).toBe('42c01e');
    expect(avcProfileOf(Buffer.from([0x17, 1, 0, 0, 0, 1, 2, 3, 4]))).toBeUndefined();
  });
});
