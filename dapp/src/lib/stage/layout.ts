// The stage view's tiles and layouts for a WebRTC viewer: one tile per member's camera and per screen being shared,
// from who is on stage (`stage:members`) and the tracks the player receives; arranged as a grid, a spotlight on one
// member, or the screen large with its sharer's camera in picture-in-picture.
import type { StageMember } from '@persecond/signaling/protocol';

/** How the stage view arranges the tiles. */
export type StageLayout = 'grid' | 'spotlight' | 'screen';

/** The layouts a viewer can pick, in the switcher's order. */
export const STAGE_LAYOUTS: readonly StageLayout[] = ['grid', 'spotlight', 'screen'];

/** A received track (a MediaStreamTrack in the page) and the producer it comes from (see receivedTracks). */
export interface TileTrack<T> {
  producerId: string;
  track: T;
}

/** One picture on the stage view (`T`: the track type, a MediaStreamTrack in the page). */
export interface Tile<T = unknown> {
  /** Stable across updates: wallet and source. */
  key: string;
  wallet: string;
  role: StageMember['role'];
  source: 'camera' | 'screen';
  /** The received video track, once the player has it. */
  video: T | undefined;
  /** The member turned the picture off, or the host did. */
  videoOff: boolean;
}

/** Where each tile goes: the large area, the strip of small ones, and the picture-in-picture (screen layout). */
export interface Arrangement<T> {
  layout: StageLayout;
  main: Tile<T>[];
  strip: Tile<T>[];
  pip: Tile<T> | undefined;
}

/**
 * The tiles of the stage: each member with a camera (or with a microphone only: a tile without picture), and each
 * screen being shared (a paused screen producer is a share that stopped).
 */
export function stageTiles<T>(members: readonly StageMember[], tracks: ReadonlyMap<string, TileTrack<T>>): Tile<T>[] {
  const tiles: Tile<T>[] = [];
  for (const m of members) {
    const camera = m.producers.find((p) => p.kind === 'video' && p.source === 'camera');
    const sends = m.producers.length > 0;
    if (camera || sends) {
      tiles.push({
        key: `${m.wallet}/camera`,
        wallet: m.wallet,
        role: m.role,
        source: 'camera',
        video: camera ? tracks.get(camera.producerId)?.track : undefined,
        videoOff: !camera || camera.paused,
      });
    }
    for (const screen of m.producers.filter((p) => p.source === 'screen' && !p.paused)) {
      tiles.push({
        key: `${m.wallet}/screen/${screen.producerId}`,
        wallet: m.wallet,
        role: m.role,
        source: 'screen',
        video: tracks.get(screen.producerId)?.track,
        videoOff: false,
      });
    }
  }
  return tiles;
}

/** The layout shown: the viewer's pick when it applies, else the screen when one is shared, else the grid. */
export function effectiveLayout(picked: StageLayout | undefined, tiles: readonly Tile<unknown>[]): StageLayout {
  const screen = tiles.some((t) => t.source === 'screen');
  if (picked === 'screen' && !screen) return 'grid';
  return picked ?? (screen ? 'screen' : 'grid');
}

/**
 * Arranges `tiles` for `layout`. Spotlight: `focus`'s camera large (the active speaker, or a clicked member; the
 * first tile, the host, when neither), the rest in the strip. Screen: the first screen large, its sharer's camera in
 * picture-in-picture, the other cameras in the strip.
 */
export function arrange<T>(tiles: readonly Tile<T>[], layout: StageLayout, focus?: string): Arrangement<T> {
  if (layout === 'spotlight') {
    const large = tiles.find((t) => t.wallet === focus && t.source === 'camera') ?? tiles[0];
    return { layout, main: large ? [large] : [], strip: tiles.filter((t) => t !== large), pip: undefined };
  }
  if (layout === 'screen') {
    const screen = tiles.find((t) => t.source === 'screen');
    if (screen) {
      const pip = tiles.find((t) => t.wallet === screen.wallet && t.source === 'camera');
      return { layout, main: [screen], strip: tiles.filter((t) => t !== screen && t !== pip), pip };
    }
  }
  return { layout: 'grid', main: [...tiles], strip: [], pip: undefined };
}

/** Columns of a grid of `n` tiles: as square as it gets. */
export function gridColumns(n: number): number {
  return Math.max(1, Math.ceil(Math.sqrt(n)));
}
