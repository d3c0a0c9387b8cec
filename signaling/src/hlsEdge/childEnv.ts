import { z } from 'zod';

/** Settings the signaling process hands its HLS edge child, as environment variables. */
const ChildEnv = z.object({
  HLS_EDGE_CHILD_HOST: z.string().min(1),
  HLS_EDGE_CHILD_PORT: z.coerce.number().int().min(0).max(65_535),
  HLS_EDGE_CHILD_DIR: z.string().min(1),
  HLS_EDGE_CHILD_SEGMENT_SECONDS: z.coerce.number().positive().max(60),
  HLS_EDGE_CHILD_TOKEN_SECRET: z.string().min(32),
  HLS_EDGE_CHILD_REPORT_MS: z.coerce.number().int().min(10).max(10_000),
  HLS_EDGE_CHILD_RECORDING_DIR: z.string().min(1).optional(),
});

/** The edge child's settings. */
export interface EdgeChildSettings {
  host: string;
  port: number;
  hlsDir: string;
  segmentSeconds: number;
  tokenSecret: string;
  reportIntervalMs: number;
  /** The SFU's recordings, served to replay sessions (none: no replays). */
  recordingDir?: string;
}

/** The variables that carry `s` to the child. */
export function childEnvOf(s: EdgeChildSettings): Record<string, string> {
  return {
    HLS_EDGE_CHILD_HOST: s.host,
    HLS_EDGE_CHILD_PORT: String(s.port),
    HLS_EDGE_CHILD_DIR: s.hlsDir,
    HLS_EDGE_CHILD_SEGMENT_SECONDS: String(s.segmentSeconds),
    HLS_EDGE_CHILD_TOKEN_SECRET: s.tokenSecret,
    HLS_EDGE_CHILD_REPORT_MS: String(s.reportIntervalMs),
    ...(s.recordingDir === undefined ? {} : { HLS_EDGE_CHILD_RECORDING_DIR: s.recordingDir }),
  };
}

/** Parses the child's settings from its environment. */
export function parseChildEnv(env: NodeJS.ProcessEnv): EdgeChildSettings {
  const parsed = ChildEnv.safeParse(env);
  if (!parsed.success) throw new Error(`invalid HLS edge settings: ${z.prettifyError(parsed.error)}`);
  const e = parsed.data;
  return {
    host: e.HLS_EDGE_CHILD_HOST,
    port: e.HLS_EDGE_CHILD_PORT,
    hlsDir: e.HLS_EDGE_CHILD_DIR,
    segmentSeconds: e.HLS_EDGE_CHILD_SEGMENT_SECONDS,
    tokenSecret: e.HLS_EDGE_CHILD_TOKEN_SECRET,
    reportIntervalMs: e.HLS_EDGE_CHILD_REPORT_MS,
    ...(e.HLS_EDGE_CHILD_RECORDING_DIR === undefined ? {} : { recordingDir: e.HLS_EDGE_CHILD_RECORDING_DIR }),
  };
}
