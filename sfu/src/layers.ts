// Simulcast layers of a WebRTC viewer's video consumer: the viewer's pick (Auto/High/Medium/Low) becomes the
// consumer's preferred layers; mediasoup's own bandwidth estimation then sends the highest layer at or below the
// preference that the viewer's downlink allows, and reports what it sends through 'layerschange'.
import type { types } from 'mediasoup';

/** What a viewer may ask for: `auto` lets the bandwidth estimation pick among all layers. */
export const LAYER_PICKS = ['auto', 'high', 'medium', 'low'] as const;
export type LayerPick = (typeof LAYER_PICKS)[number];

/** The layer a consumer forwards now (`null` when it forwards none, e.g. paused or no bandwidth). */
export interface ViewerLayers {
  consumerId: string;
  spatialLayer: number | null;
  temporalLayer: number | null;
  /** How many spatial layers the producer sends (1 for a non-simulcast producer). */
  spatialLayers: number;
}

/** Spatial and temporal layer counts from an encoding's scalability mode ('L3T3', 'S3T3', ...); 1×1 when absent. */
export function layerCounts(consumer: types.Consumer): { spatial: number; temporal: number } {
  const mode = consumer.rtpParameters.encodings?.[0]?.scalabilityMode;
  const m = mode ? /^[LS](\d+)T(\d+)/.exec(mode) : null;
  return m ? { spatial: Number(m[1]), temporal: Number(m[2]) } : { spatial: 1, temporal: 1 };
}

/** The preferred layers a pick means for a consumer: high = the top layer, low = layer 0, medium = the middle one. */
export function preferredLayersFor(pick: LayerPick, spatial: number, temporal: number): types.ConsumerLayers {
  const top = spatial - 1;
  const spatialLayer = pick === 'low' ? 0 : pick === 'medium' ? Math.floor(top / 2) : top;
  return { spatialLayer, temporalLayer: temporal - 1 };
}

/**
 * Applies a viewer's pick to its consumer. Only simulcast/SVC consumers have layers; for the others the pick is a
 * no-op (there is one layer). Returns the preferred layers set, if any.
 */
export async function applyLayerPick(
  consumer: types.Consumer,
  pick: LayerPick,
): Promise<types.ConsumerLayers | undefined> {
  if (consumer.kind !== 'video' || (consumer.type !== 'simulcast' && consumer.type !== 'svc')) return undefined;
  const { spatial, temporal } = layerCounts(consumer);
  const layers = preferredLayersFor(pick, spatial, temporal);
  await consumer.setPreferredLayers(layers);
  return layers;
}

/** The layers a consumer forwards now. */
export function currentLayersOf(consumer: types.Consumer): ViewerLayers {
  const l = consumer.currentLayers;
  return {
    consumerId: consumer.id,
    spatialLayer: l?.spatialLayer ?? null,
    temporalLayer: l?.temporalLayer ?? null,
    spatialLayers: layerCounts(consumer).spatial,
  };
}

/** Calls `onChange` with the consumer's current layers whenever mediasoup switches them. */
export function watchLayers(consumer: types.Consumer, onChange: (layers: ViewerLayers) => void): void {
  if (consumer.kind !== 'video') return;
  consumer.on('layerschange', () => onChange(currentLayersOf(consumer)));
}
