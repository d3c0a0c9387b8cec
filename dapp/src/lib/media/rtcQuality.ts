// The quality control of a WebRTC playback over a simulcast stream: the viewer's pick goes to the server as
// `rtc:setLayers` (mediasoup forwards at most that layer, or under Auto the highest its bandwidth estimate allows), and
// the layer it forwards comes back as `consumer:layers`. The menu's state is computed in layers.ts.
import type { ConsumerLayers } from '@persecond/signaling/protocol';
import { request, type SignalingSocket } from '../signaling/socket.ts';
import type { QualityControl } from './hlsQuality.ts';
import { layerState } from './layers.ts';
import type { QualityChoice } from './quality.ts';

/** How long a manual pick is shown as switching: the SFU switches at the layer's next keyframe, asked for at once. */
const SWITCH_WAIT_MS = 5_000;

/**
 * The quality control of a WebRTC playback shown in `video`; `consumerId` names its video consumer once there is one
 * (the control listens from before the consumer is resumed, so the first layer report is not missed).
 */
export function rtcQualityControl(
  socket: SignalingSocket,
  consumerId: () => string | undefined,
  video: HTMLVideoElement,
): QualityControl & { close(): void } {
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of listeners) l();
  };
  let choice: QualityChoice = 'auto';
  let layers: ConsumerLayers | undefined;
  /** Set while a manual pick may still be on its way; after it, what plays is the best the stream has. */
  let settling: ReturnType<typeof setTimeout> | undefined;
  const onLayers = (l: ConsumerLayers) => {
    if (l.consumerId !== consumerId()) return;
    layers = l;
    notify();
  };
  socket.on('consumer:layers', onLayers);
  // The picture's size changes a moment after the layer does.
  video.addEventListener('resize', notify);
  return {
    state: () => {
      const s = layerState(choice, layers, video.videoHeight);
      return settling ? s : { ...s, switching: false };
    },
    choose(next) {
      const id = consumerId();
      if (!id) return;
      const before = choice;
      choice = next;
      // A layer the publisher stopped sending never arrives: mediasoup forwards the nearest one it has instead.
      clearTimeout(settling);
      settling = setTimeout(() => {
        settling = undefined;
        notify();
      }, SWITCH_WAIT_MS);
      notify();
      request(socket, 'rtc:setLayers', { consumerId: id, layers: next }).catch(() => {
        // The server kept the old pick: the menu says so rather than showing a choice that is not in force.
        if (choice !== next) return;
        choice = before;
        notify();
      });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      clearTimeout(settling);
      settling = undefined;
      socket.off('consumer:layers', onLayers);
      video.removeEventListener('resize', notify);
      listeners.clear();
    },
  };
}
