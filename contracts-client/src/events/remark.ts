import { CID } from 'multiformats/cid';
import { z } from 'zod';

/** Stream and session ids: URL-safe, colon-free so the remark stays unambiguous. */
export const ProtocolId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'id must be 1-64 chars of [A-Za-z0-9_-]');

/** A sequence number: non-negative safe integer. */
export const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const SeqText = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,15})$/, 'seq must be a canonical decimal')
  .transform(Number)
  .pipe(Seq);

/** An IPFS CID in its canonical string form. */
export const CidText = z
  .string()
  .min(1)
  .max(128)
  .refine((s) => {
    try {
      return CID.parse(s).toString() === s;
    } catch {
      return false;
    }
  }, 'not a canonical CID');

/** What a viewer session pays for: the stream live, or its recorded replay. */
export type SessionKind = 'live' | 'replay';

/** The payment remark of each session kind: `ps1:pay:…` for live sessions, `ps1:replay:…` for replay sessions. */
export const PAYMENT_REMARK = { live: 'pay', replay: 'replay' } as const satisfies Record<SessionKind, string>;

/** The session kind a payment remark kind pays for. */
export function sessionKindOf(kind: 'pay' | 'replay'): SessionKind {
  return kind === 'replay' ? 'replay' : 'live';
}

/** The remarks Persecond writes on chain, after parsing. */
export type ProtocolRemark =
  | { kind: 'stream'; streamId: string; metadataCid: string }
  | { kind: 'fund'; sessionId: string }
  | { kind: 'pay'; streamId: string; sessionId: string; seq: number }
  | { kind: 'replay'; streamId: string; sessionId: string; seq: number }
  | { kind: 'refund'; sessionId: string }
  | { kind: 'tip'; streamId: string; messageId: string };

const StreamRemark = z.tuple([z.literal('stream'), ProtocolId, CidText]);
const FundRemark = z.tuple([z.literal('fund'), ProtocolId]);
const PayRemark = z.tuple([z.literal('pay'), ProtocolId, ProtocolId, SeqText]);
const ReplayRemark = z.tuple([z.literal('replay'), ProtocolId, ProtocolId, SeqText]);
const RefundRemark = z.tuple([z.literal('refund'), ProtocolId]);
const TipRemark = z.tuple([z.literal('tip'), ProtocolId, ProtocolId]);

/** Remark text prefix of protocol version 1. */
export const REMARK_PREFIX = 'ps1:';

/** Parses a remark text; returns undefined for anything that is not a valid ps1 remark. */
export function parseRemark(text: string): ProtocolRemark | undefined {
  if (!text.startsWith(REMARK_PREFIX) || text.length > 512) return undefined;
  const parts = text.slice(REMARK_PREFIX.length).split(':');
  switch (parts[0]) {
    case 'stream': {
      const r = StreamRemark.safeParse(parts);
      return r.success ? { kind: 'stream', streamId: r.data[1], metadataCid: r.data[2] } : undefined;
    }
    case 'fund': {
      const r = FundRemark.safeParse(parts);
      return r.success ? { kind: 'fund', sessionId: r.data[1] } : undefined;
    }
    case 'pay': {
      const r = PayRemark.safeParse(parts);
      return r.success ? { kind: 'pay', streamId: r.data[1], sessionId: r.data[2], seq: r.data[3] } : undefined;
    }
    case 'replay': {
      const r = ReplayRemark.safeParse(parts);
      return r.success ? { kind: 'replay', streamId: r.data[1], sessionId: r.data[2], seq: r.data[3] } : undefined;
    }
    case 'refund': {
      const r = RefundRemark.safeParse(parts);
      return r.success ? { kind: 'refund', sessionId: r.data[1] } : undefined;
    }
    case 'tip': {
      const r = TipRemark.safeParse(parts);
      return r.success ? { kind: 'tip', streamId: r.data[1], messageId: r.data[2] } : undefined;
    }
    default:
      return undefined;
  }
}

/** Formats a remark; validates every field so a builder can never write an unparsable remark. */
export function formatRemark(remark: ProtocolRemark): string {
  switch (remark.kind) {
    case 'stream':
      return `${REMARK_PREFIX}stream:${ProtocolId.parse(remark.streamId)}:${CidText.parse(remark.metadataCid)}`;
    case 'fund':
      return `${REMARK_PREFIX}fund:${ProtocolId.parse(remark.sessionId)}`;
    case 'pay':
    case 'replay':
      return `${REMARK_PREFIX}${remark.kind}:${ProtocolId.parse(remark.streamId)}:${ProtocolId.parse(remark.sessionId)}:${Seq.parse(remark.seq)}`;
    case 'refund':
      return `${REMARK_PREFIX}refund:${ProtocolId.parse(remark.sessionId)}`;
    case 'tip':
      return `${REMARK_PREFIX}tip:${ProtocolId.parse(remark.streamId)}:${ProtocolId.parse(remark.messageId)}`;
  }
}
