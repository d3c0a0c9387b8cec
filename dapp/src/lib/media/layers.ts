// The WebRTC quality menu's state over simulcast layers (pure): which picks the stream's layers allow, the layer a
// pick asks for (as the SFU maps it, sfu/src/layers.ts), and what the viewer sees now. With one layer (no simulcast)
// the menu offers Auto only.
import type { ConsumerLayers } from '@persecond/signaling/protocol';
import type { QualityChoice, QualityState } from './quality.ts';

/** The choices `spatialLayers` layers allow. */
export function layerChoices(spatialLayers: number): QualityChoice[] {
  if (spatialLayers >= 3) return ['auto', 'high', 'medium', 'low'];
  return spatialLayers === 2 ? ['auto', 'high', 'low'] : ['auto'];
}

/** The spatial layer a manual pick asks for (as the server maps it), undefined for Auto. */
export function layerFor(choice: QualityChoice, spatialLayers: number): number | undefined {
  const top = spatialLayers - 1;
  if (choice === 'auto') return undefined;
  return choice === 'low' ? 0 : choice === 'medium' ? Math.floor(top / 2) : top;
}

/**
 * The menu's state: the pick, the layer forwarded now (labelled by the decoded picture's height when known, else
 * "layer n of m") and whether a manual pick is still on its way (the server switches at the layer's next keyframe).
 */
export function layerState(choice: QualityChoice, layers: ConsumerLayers | undefined, height: number): QualityState {
  const n = layers?.spatialLayers ?? 1;
  const current = layers?.spatialLayer ?? null;
  const wanted = layerFor(choice, n);
  let playing: string | undefined;
  if (height > 0) playing = `${height}p`;
  else if (current !== null && n > 1) playing = `layer ${current + 1} of ${n}`;
  return {
    choices: layerChoices(n),
    choice,
    playing,
    // Under bandwidth pressure mediasoup may stay below a manual pick: it is then the best that arrives, not a switch.
    switching: wanted !== undefined && current !== null && current > wanted,
  };
}
