import { z } from 'zod';
import { SessionId, StreamId } from '../protocol.ts';

/** Why a viewer's HLS requests are refused with 402 while it stays admitted (a payment lag). */
const PausedReason = z.string().min(1).max(64);

/**
 * Parent → edge: serve this HLS viewer session of this stream (placed, payments current); with `paused`, know it but
 * answer 402 PAYMENT_REQUIRED with that reason (a viewer placed, or a restarted edge told, while payments are behind).
 */
export const AllowCommand = z.object({
  type: z.literal('allow'),
  sessionId: SessionId,
  streamId: StreamId,
  paused: PausedReason.optional(),
  /** A replay session: served the stream's recording (`/replay/...`) and nothing live, and the reverse without. */
  replay: z.literal(true).optional(),
});
/**
 * Parent → edge: stop serving this session at once. With `paused` the session stays known and is answered
 * 402 PAYMENT_REQUIRED (its unreported deliveries kept); without, it is forgotten (401).
 */
export const DenyCommand = z.object({ type: z.literal('deny'), sessionId: SessionId, paused: PausedReason.optional() });

/**
 * Parent → edge: report every delivery now and answer `flushed` with the same `id` (IPC keeps order, so once it
 * arrives every delivery the edge made before it was reported: a session ending is charged for its last segments).
 */
export const FlushCommand = z.object({ type: z.literal('flush'), id: z.number().int().min(0) });

/** What the signaling process tells its HLS edge. */
export const EdgeCommand = z.discriminatedUnion('type', [AllowCommand, DenyCommand, FlushCommand]);
export type EdgeCommand = z.infer<typeof EdgeCommand>;

/** Edge → parent: listening on `port`. */
export const ReadyReport = z.object({ type: z.literal('ready'), port: z.number().int().min(1).max(65_535) });
/**
 * Edge → parent: per live session, media seconds delivered since the last report (each segment served counts); per
 * replay session, the numbers of the recording's segments delivered (the parent charges each once per session); and
 * the fetches refused over one player's worth (429 LIMIT_REACHED).
 */
export const DeliveredReport = z.object({
  type: z.literal('delivered'),
  seconds: z.record(SessionId, z.number().positive().max(86_400)),
  replay: z
    .record(
      SessionId,
      z
        .array(
          z
            .number()
            .int()
            .min(0)
            .max(2 ** 31),
        )
        .max(100_000),
    )
    .optional(),
  limited: z.record(SessionId, z.number().int().positive()).optional(),
});

/** Edge → parent: every delivery before the `flush` with this `id` was reported. */
export const FlushedReport = z.object({ type: z.literal('flushed'), id: z.number().int().min(0) });

/** What the HLS edge tells the signaling process. */
export const EdgeReport = z.discriminatedUnion('type', [ReadyReport, DeliveredReport, FlushedReport]);
export type EdgeReport = z.infer<typeof EdgeReport>;
