// The HLS player's quality menu: Auto (hls.js picks the rendition from the measured bandwidth) or the highest / the
// lowest rendition of the stream's ladder by hand, and which rendition plays now. Pure: the player feeds it hls.js's
// levels and indices.

/** What the viewer picked in the quality menu (Medium: WebRTC simulcast's middle layer; HLS offers the others). */
export type QualityChoice = 'auto' | 'high' | 'medium' | 'low';

/** One rendition as the player knows it from the master playlist. */
export interface QualityLevel {
  /** Pixels (0 when the master playlist does not say). */
  height: number;
  /** Bits per second (the master playlist's BANDWIDTH). */
  bitrate: number;
}

/** The menu's state: the choices offered, the one picked, and what plays now. */
export interface QualityState {
  choices: QualityChoice[];
  choice: QualityChoice;
  /** The rendition playing now, e.g. "720p" (undefined before the first segment plays). */
  playing: string | undefined;
  /** A manual pick not playing yet (the player switches at its next segment). */
  switching: boolean;
}

export const CHOICE_LABELS: Readonly<Record<QualityChoice, string>> = {
  auto: 'Auto',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
};

/** Orders renditions by height, then bit rate. */
const rank = (l: QualityLevel) => l.height * 1e9 + l.bitrate;

/** The choices a ladder allows: Auto, and High/Low once there are two renditions to choose between. */
export function qualityChoices(levels: readonly QualityLevel[]): QualityChoice[] {
  return levels.length >= 2 ? ['auto', 'high', 'low'] : ['auto'];
}

/** The hls.js level index for a choice: -1 (automatic) for Auto, Medium (not offered) or a ladder without such a rendition. */
export function levelIndexFor(choice: QualityChoice, levels: readonly QualityLevel[]): number {
  if (choice === 'auto' || choice === 'medium' || levels.length < 2) return -1;
  let best = 0;
  levels.forEach((l, i) => {
    const better =
      choice === 'high' ? rank(l) > rank(levels[best] as QualityLevel) : rank(l) < rank(levels[best] as QualityLevel);
    if (better) best = i;
  });
  return best;
}

/** A rendition's name for the viewer: its height ("360p"), else its bit rate ("800 kbps"). */
export function renditionLabel(level: QualityLevel | undefined): string | undefined {
  if (!level) return undefined;
  return level.height > 0 ? `${level.height}p` : `${Math.round(level.bitrate / 1000)} kbps`;
}

/**
 * The menu's state from hls.js's: `manualLevel` (-1 when automatic) and `playingLevel` (the level of the segment
 * playing, -1 before one plays).
 */
export function qualityState(levels: readonly QualityLevel[], manualLevel: number, playingLevel: number): QualityState {
  const choices = qualityChoices(levels);
  let choice: QualityChoice = 'auto';
  if (manualLevel >= 0 && levels.length >= 2) {
    if (manualLevel === levelIndexFor('high', levels)) choice = 'high';
    else if (manualLevel === levelIndexFor('low', levels)) choice = 'low';
  }
  const playing = renditionLabel(playingLevel >= 0 ? levels[playingLevel] : undefined);
  return {
    choices,
    choice,
    playing,
    switching: choice !== 'auto' && playingLevel >= 0 && manualLevel !== playingLevel,
  };
}

/** The indicator's text, e.g. "Auto · 720p", "Low · 360p", "Low · switching from 720p…". */
export function qualityText(s: QualityState): string {
  const label = CHOICE_LABELS[s.choice];
  if (!s.playing) return label;
  return s.switching ? `${label} · switching from ${s.playing}…` : `${label} · ${s.playing}`;
}
