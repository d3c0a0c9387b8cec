import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_HLS_LADDER, HlsLadder, type Rendition } from './hls/ladder.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const port = z.coerce.number().int().min(1024).max(65535);

const envSchema = z
  .object({
    SFU_NUM_WORKERS: z.coerce.number().int().min(1).max(256).default(availableParallelism()),
    SFU_LISTEN_IP: z.union([z.ipv4(), z.ipv6()]).default('127.0.0.1'),
    ANNOUNCED_IP: z.string().min(1).optional(),
    SFU_RTC_MIN_PORT: port.default(40000),
    SFU_RTC_MAX_PORT: port.default(49999),
    SFU_CONSUMERS_PER_WORKER: z.coerce.number().int().min(1).default(500),
    HLS_DIR: z.string().min(1).default('.data/hls'),
    HLS_LINGER_SECONDS: z.coerce.number().min(0).default(30),
    HLS_SEGMENT_SECONDS: z.coerce.number().min(0.5).max(6).default(1),
    HLS_LADDER: z.string().default(DEFAULT_HLS_LADDER).pipe(HlsLadder),
    THUMBNAIL_DIR: z.string().min(1).optional(),
    THUMBNAIL_HEIGHT: z.coerce.number().int().min(16).max(1080).default(180),
    THUMBNAIL_INTERVAL_SECONDS: z.coerce.number().min(0).max(3600).default(10),
    RECORDING: z.enum(['on', 'off']).default('on'),
    RECORDING_DIR: z.string().min(1).optional(),
    RECORDING_MAX_BYTES: z.coerce.number().int().min(0).default(20_000_000_000),
    RECORDING_RETENTION_DAYS: z.coerce.number().min(0).default(30),
    FFMPEG_PATH: z.string().min(1).default('ffmpeg'),
    LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  })
  .refine((e) => e.SFU_RTC_MIN_PORT < e.SFU_RTC_MAX_PORT, {
    message: 'SFU_RTC_MIN_PORT must be below SFU_RTC_MAX_PORT',
    path: ['SFU_RTC_MIN_PORT'],
  });

/** Media plane settings, parsed once from the environment. */
export interface SfuConfig {
  /** mediasoup workers to run (one per core by default). */
  numWorkers: number;
  /** Local IP every RTC/plain transport binds to. */
  listenIp: string;
  /** Public IP or hostname announced in ICE candidates (NAT / container setups). */
  announcedIp: string | undefined;
  rtcMinPort: number;
  rtcMaxPort: number;
  /** Consumers a single worker may carry before rooms fan out to another worker. */
  consumersPerWorker: number;
  /** Absolute directory under which each stream's HLS output lives. */
  hlsDir: string;
  /** How long an HLS relay keeps running after its last viewer left. */
  hlsLingerMs: number;
  /** Target HLS segment duration. */
  hlsSegmentSeconds: number;
  /** Renditions the HLS relay encodes, highest first (`HLS_LADDER`). */
  hlsLadder: Rendition[];
  /** Absolute directory of the live thumbnails, one `<streamId>.jpg` per stream (default `<HLS_DIR>/.thumbnails`). */
  thumbnailDir: string;
  /** Height of a thumbnail (rounded down to even; the width follows the picture's aspect ratio). */
  thumbnailHeight: number;
  /** How often a live thumbnail is taken again; 0 turns thumbnails off. */
  thumbnailIntervalMs: number;
  /** Whether a stream is recorded unless its room is opened with `recording: false` (`RECORDING`, default on). */
  recording: boolean;
  /** Absolute directory of the recordings, one `<streamId>/` each (default `<HLS_DIR>/.recordings`). */
  recordingDir: string;
  /** Bytes all finished recordings may take; the oldest are deleted beyond it (0: no limit). */
  recordingMaxBytes: number;
  /** How long a finished recording is kept (0: for ever). */
  recordingRetentionMs: number;
  ffmpegPath: string;
  logLevel: (typeof LOG_LEVELS)[number];
}

/** Parses SFU settings from an environment (defaults to process.env); throws a zod error on bad values. */
export function loadSfuConfig(env: NodeJS.ProcessEnv = process.env): SfuConfig {
  // Empty variables (`FOO=`) mean "unset", as in most deployment tools.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const e = envSchema.parse(present);
  const hlsDir = resolve(e.HLS_DIR);
  return {
    numWorkers: e.SFU_NUM_WORKERS,
    listenIp: e.SFU_LISTEN_IP,
    announcedIp: e.ANNOUNCED_IP,
    rtcMinPort: e.SFU_RTC_MIN_PORT,
    rtcMaxPort: e.SFU_RTC_MAX_PORT,
    consumersPerWorker: e.SFU_CONSUMERS_PER_WORKER,
    hlsDir,
    hlsLingerMs: Math.round(e.HLS_LINGER_SECONDS * 1000),
    hlsSegmentSeconds: e.HLS_SEGMENT_SECONDS,
    hlsLadder: e.HLS_LADDER,
    thumbnailDir: e.THUMBNAIL_DIR ? resolve(e.THUMBNAIL_DIR) : join(hlsDir, '.thumbnails'),
    thumbnailHeight: e.THUMBNAIL_HEIGHT,
    thumbnailIntervalMs: Math.round(e.THUMBNAIL_INTERVAL_SECONDS * 1000),
    recording: e.RECORDING === 'on',
    // Under HLS_DIR by default so a recording hard-links the relay's segments (same file system, no copy).
    recordingDir: e.RECORDING_DIR ? resolve(e.RECORDING_DIR) : join(hlsDir, '.recordings'),
    recordingMaxBytes: e.RECORDING_MAX_BYTES,
    recordingRetentionMs: Math.round(e.RECORDING_RETENTION_DAYS * 86_400_000),
    ffmpegPath: e.FFMPEG_PATH,
    logLevel: e.LOG_LEVEL,
  };
}
