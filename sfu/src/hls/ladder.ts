import { z } from 'zod';
import { RENDITION_NAME } from './names.ts';

/** One rendition of the HLS ladder: its name (it names files), its largest height and its video bit rate. */
export interface Rendition {
  name: string;
  /** The source is scaled down to at most this height (never up), keeping its aspect ratio. */
  maxHeight: number;
  /** Video bit rate (the encoder's cap), kbit/s; the master playlist's BANDWIDTH adds audio and overhead. */
  videoKbps: number;
}

/**
 * The default ladder, sized for 2 cores (bench/sfu/hlsLadder.ts measures what each rendition costs): the source up to
 * 720p, and 360p for slow links.
 */
export const DEFAULT_HLS_LADDER = 'high:720:2500,low:360:600';

const RenditionSpec = z
  .string()
  .regex(/^[^:]+:\d+:\d+$/, 'a rendition is name:maxHeight:videoKbps')
  .transform((s) => {
    const [name, height, kbps] = s.split(':') as [string, string, string];
    return { name, maxHeight: Number(height), videoKbps: Number(kbps) };
  })
  .pipe(
    z.object({
      name: z
        .string()
        .regex(RENDITION_NAME, 'a rendition name is 1–16 lower-case letters or digits')
        .refine((n) => n !== 'index', 'index names the master playlist'),
      maxHeight: z.number().int().min(90).max(2160),
      videoKbps: z.number().int().min(100).max(20_000),
    }),
  );

/**
 * `HLS_LADDER`: comma-separated `name:maxHeight:videoKbps`, highest first (1–4 renditions, names unique). A ladder of
 * one rendition is written as a single media playlist; more, under a master playlist.
 */
export const HlsLadder = z
  .string()
  .transform((s) => s.split(',').map((r) => r.trim()))
  .pipe(z.array(RenditionSpec).min(1).max(4))
  .refine((l) => new Set(l.map((r) => r.name)).size === l.length, 'rendition names must be unique')
  .refine(
    (l) => l.every((r, i) => i === 0 || (r.maxHeight <= l[i - 1]!.maxHeight && r.videoKbps <= l[i - 1]!.videoKbps)),
    'renditions go from the highest to the lowest',
  );

/** Parses a ladder spec (throws a zod error when it is unusable). */
export function parseHlsLadder(spec: string): Rendition[] {
  return HlsLadder.parse(spec);
}
