// The quality control of an hls.js playback: the menu's state (see quality.ts) and the viewer's pick applied to the
// player.
import type Hls from 'hls.js';
import { levelIndexFor, type QualityChoice, type QualityState, qualityState } from './quality.ts';

/** The quality menu's view of a running HLS playback. */
export interface QualityControl {
  /** The menu's state now. */
  state(): QualityState;
  /** Applies the viewer's pick. */
  choose(choice: QualityChoice): void;
  /** Calls `listener` whenever the state may have changed (renditions known, a switch done); returns the unsubscribe. */
  subscribe(listener: () => void): () => void;
}

/**
 * The quality control of `hls`. A manual pick is applied from the next segment on (`loadLevel`): nothing buffered is
 * dropped and fetched again in the other rendition, so the switch shows within the buffer (about two segments).
 */
export function hlsQualityControl(hls: Hls, events: typeof Hls.Events): QualityControl {
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of listeners) l();
  };
  hls.on(events.MANIFEST_PARSED, notify);
  hls.on(events.LEVEL_SWITCHED, notify);
  const levels = () => hls.levels.map((l) => ({ height: l.height ?? 0, bitrate: l.bitrate ?? 0 }));
  return {
    state: () => qualityState(levels(), hls.manualLevel, hls.currentLevel),
    choose(choice) {
      hls.loadLevel = levelIndexFor(choice, levels());
      notify();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
