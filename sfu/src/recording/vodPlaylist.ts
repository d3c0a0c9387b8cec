// The media playlists of a recording: read from the relay's live playlists, written as an HLS event playlist while the
// stream is recorded and as a VOD (ENDLIST) once it ended. Pure text functions, no file access.

/** One segment of a media playlist. */
export interface PlaylistEntry {
  /** Segment file name, relative to the playlist. */
  uri: string;
  /** EXTINF, seconds. */
  duration: number;
  /** Preceded by `#EXT-X-DISCONTINUITY` (a new encoder run: timestamps and codec state restart). */
  discontinuity: boolean;
}

/** The segments of an HLS media playlist, in order (tags other than EXTINF and DISCONTINUITY are ignored). */
export function parseMediaPlaylist(text: string): { entries: PlaylistEntry[]; ended: boolean } {
  const entries: PlaylistEntry[] = [];
  let duration: number | undefined;
  let discontinuity = false;
  let ended = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '#EXT-X-DISCONTINUITY') discontinuity = true;
    else if (line === '#EXT-X-ENDLIST') ended = true;
    else if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice('#EXTINF:'.length));
    else if (line !== '' && !line.startsWith('#') && duration !== undefined && Number.isFinite(duration)) {
      entries.push({ uri: line, duration, discontinuity });
      duration = undefined;
      discontinuity = false;
    }
  }
  return { entries, ended };
}

/**
 * A recording's media playlist. While recording it is an EVENT playlist (players can seek anywhere in it, it only
 * grows); `ended` makes it a VOD with `#EXT-X-ENDLIST`. Either is complete as written, so a crash between two writes
 * leaves a playable recording up to the last one.
 */
export function renderMediaPlaylist(entries: readonly PlaylistEntry[], segmentSeconds: number, ended: boolean): string {
  // The longest segment, rounded as RFC 8216 asks (EXTINF rounded to the nearest integer must not exceed it).
  const target = Math.max(Math.ceil(segmentSeconds), ...entries.map((e) => Math.round(e.duration)));
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${target}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    `#EXT-X-PLAYLIST-TYPE:${ended ? 'VOD' : 'EVENT'}`,
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  entries.forEach((e, i) => {
    if (e.discontinuity && i > 0) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXTINF:${e.duration.toFixed(6)},`, e.uri);
  });
  if (ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/** Seconds of media a playlist lists. */
export function playlistSeconds(entries: readonly PlaylistEntry[]): number {
  return entries.reduce((s, e) => s + e.duration, 0);
}
