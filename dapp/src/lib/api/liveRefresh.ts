// How the directory stays live: read the signaling server's directory again every few seconds. The watch page's viewer
// count uses the same path.

/** How often live figures (streams, viewer counts) are read again. */
export const LIVE_REFRESH_MS = 5_000;

/** Calls `refresh` now and every `LIVE_REFRESH_MS`; returns the function that stops it. */
export function refreshLive(refresh: () => unknown): () => void {
  refresh();
  const timer = setInterval(refresh, LIVE_REFRESH_MS);
  return () => clearInterval(timer);
}
