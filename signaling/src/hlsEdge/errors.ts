/** Stable codes of HLS edge failures. */
export type HlsEdgeErrorCode = 'HLS_EDGE_START_FAILED' | 'HLS_EDGE_CLOSED';

/** A failure to start or use the HLS edge process. */
export class HlsEdgeError extends Error {
  constructor(
    readonly code: HlsEdgeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HlsEdgeError';
  }
}
