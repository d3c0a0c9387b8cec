// What the HLS relay carries of a room's stage: one participant's media as before, or the stage composed.

/** How the relay composes several videos: a grid, or one large (a screen share, else the first) with the others small. */
export const STAGE_LAYOUTS = ['grid', 'spotlight'] as const;
export type StageLayout = (typeof STAGE_LAYOUTS)[number];

/** Videos composed into one picture at most (more are left out: screens first, then the host, then by join order). */
export const MAX_COMPOSED_VIDEOS = 4;
/** Microphones mixed at most (more are left out, in the same order). */
export const MAX_MIXED_AUDIOS = 8;

/** A producer of the room as the plan needs it (`ProducerInfo`, the host's first). */
export interface StageProducer {
  id: string;
  kind: 'audio' | 'video';
  paused: boolean;
  participantId: string;
  source: 'camera' | 'microphone' | 'screen';
}

/** The relay of one producer set: its producers, and whether and how ffmpeg composes them. */
export type RelayPlan =
  | {
      /** One participant: its first video and first audio (paused or not), encoded as they come (no composition). */
      mode: 'single';
      video: string;
      audio: string | undefined;
      key: string;
    }
  | {
      /** Several videos, or the audio of several participants: decoded, composed and mixed by one ffmpeg. */
      mode: 'composed';
      layout: StageLayout;
      /** Video producers in composition order (for spotlight the first is the large one). */
      videos: string[];
      audios: string[];
      key: string;
    };

/**
 * The relay for a room's producers, or undefined when nothing has video. Only sending (not paused) producers are
 * composed: ffmpeg's stacking and mixing wait for a frame from every input, so a paused input would stall the whole
 * picture. When the sending media all belong to one participant with at most one video, the relay is today's
 * single-participant path (its sending video, else its first, and its first audio, sending or not); with no video
 * sending, it is the first participant that has one. `layout` is the room's choice; unset, a screen
 * share makes it spotlight, else grid. Equal `key`s mean the same relay.
 */
export function planRelay(producers: readonly StageProducer[], layout?: StageLayout): RelayPlan | undefined {
  const sending = producers.filter((p) => !p.paused);
  const videos = rank(sending.filter((p) => p.kind === 'video')).slice(0, MAX_COMPOSED_VIDEOS);
  const audios = rank(sending.filter((p) => p.kind === 'audio')).slice(0, MAX_MIXED_AUDIOS);
  const contributors = new Set([...videos, ...audios].map((p) => p.participantId));
  if (videos.length === 0 || (videos.length === 1 && contributors.size === 1)) {
    const owner = videos[0]?.participantId ?? producers.find((p) => p.kind === 'video')?.participantId;
    if (owner === undefined) return undefined;
    const own = producers.filter((p) => p.participantId === owner);
    const video = videos[0]?.id ?? (own.find((p) => p.kind === 'video')?.id as string);
    const audio = (audios[0] ?? own.find((p) => p.kind === 'audio'))?.id;
    return { mode: 'single', video, audio, key: `single:${video}:${audio ?? ''}` };
  }
  const chosen = layout ?? (videos.some((v) => v.source === 'screen') ? 'spotlight' : 'grid');
  const ids = videos.map((v) => v.id);
  const audioIds = audios.map((a) => a.id);
  return {
    mode: 'composed',
    layout: chosen,
    videos: ids,
    audios: audioIds,
    key: `${chosen}:${ids.join(',')}:${audioIds.join(',')}`,
  };
}

/** Screens first, then the room's order (the host first, then participants by join order); stable. */
function rank(ps: StageProducer[]): StageProducer[] {
  return ps
    .map((p, i) => ({ p, i }))
    .sort((a, b) => Number(b.p.source === 'screen') - Number(a.p.source === 'screen') || a.i - b.i)
    .map(({ p }) => p);
}
