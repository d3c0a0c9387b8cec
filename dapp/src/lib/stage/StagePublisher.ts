// What one wallet on stage sends (a guest or co-host on the watch page, the host's screen from the studio): camera and
// microphone, and a screen share as its own producer (`source: 'screen'`), on one send transport of the stream's
// room. Built on the studio's publisher code (device, transport, simulcast camera).
import type { MediaSource as ProducerSource } from '@persecond/signaling/protocol';
import type { Device, Producer, Transport } from 'mediasoup-client/types';
import { openCapture, stopCapture } from '../media/devices.ts';
import { loadDevice, openSendTransport, produceTrack } from '../media/publisher.ts';
import { request, type SignalingSocket } from '../signaling/socket.ts';

/** Opens a screen, window or tab to share (the browser asks the person which). */
export async function openScreen(): Promise<MediaStreamTrack> {
  const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  const track = stream.getVideoTracks()[0];
  if (!track) throw new DOMException('no screen track', 'NotFoundError');
  return track;
}

/** A sentence for a getDisplayMedia failure. */
export function explainScreenError(err: unknown): string {
  const name = err instanceof DOMException ? err.name : '';
  if (name === 'NotAllowedError') return 'Screen sharing was refused or cancelled.';
  return 'Your screen could not be shared.';
}

/** The outgoing media of one wallet on one stream's stage. */
export class StagePublisher {
  /** The camera and microphone being sent, for the local preview (none for a screen-only publisher). */
  readonly camera: MediaStream | undefined;
  /** The screen being shared now, if any. */
  screenTrack: MediaStreamTrack | undefined;
  readonly #producers = new Map<ProducerSource, Producer>();
  #closed = false;
  /** Told when the screen share stopped from the browser's own "Stop sharing". */
  onScreenEnded: (() => void) | undefined;

  private constructor(
    private readonly socket: SignalingSocket,
    private readonly streamId: string,
    private readonly device: Device,
    private readonly transport: Transport,
    camera: MediaStream | undefined,
  ) {
    this.camera = camera;
  }

  /** Opens a send transport and sends the camera and microphone (`camera: false`: nothing yet, e.g. the host's screen). */
  static async start(socket: SignalingSocket, streamId: string, opts: { camera: boolean }): Promise<StagePublisher> {
    const device = await loadDevice(socket, streamId);
    const media = opts.camera ? await openCapture() : undefined;
    let transport: Transport | undefined;
    try {
      transport = await openSendTransport(socket, streamId, device);
      const publisher = new StagePublisher(socket, streamId, device, transport, media);
      for (const track of media?.getTracks() ?? []) {
        const source = track.kind === 'video' ? 'camera' : 'microphone';
        publisher.#producers.set(source, await produceTrack(transport, device, track, source));
      }
      return publisher;
    } catch (err) {
      transport?.close();
      stopCapture(media);
      throw err;
    }
  }

  /** Whether a source is being sent and not paused. */
  sending(source: ProducerSource): boolean {
    const p = this.#producers.get(source);
    return p !== undefined && !p.closed && !p.paused;
  }

  /** Turns a source off (pauses its producer) or on again; FORCE_MUTED while the host holds it muted. */
  async setPaused(source: ProducerSource, paused: boolean): Promise<void> {
    const producer = this.#producers.get(source);
    if (!producer || producer.closed || producer.paused === paused) return;
    const flip = (to: boolean) => (to ? producer.pause() : producer.resume());
    flip(paused);
    try {
      await request(this.socket, 'rtc:setProducerPaused', { streamId: this.streamId, producerId: producer.id, paused });
    } catch (err) {
      flip(!paused);
      throw err;
    }
  }

  /** The host muted `sources`: stop sending them here too (the server already holds them paused). */
  holdMuted(sources: readonly ProducerSource[]): void {
    for (const source of sources) {
      const p = this.#producers.get(source);
      if (p && !p.closed && !p.paused) p.pause();
    }
  }

  /**
   * Shares `track` as the screen: a producer of its own the first time; later shares send the new track on it and
   * resume it (there is no request to close one producer: a stopped share stays as a paused producer).
   */
  async shareScreen(track: MediaStreamTrack): Promise<void> {
    const existing = this.#producers.get('screen');
    this.screenTrack?.stop();
    this.screenTrack = track;
    track.addEventListener('ended', () => {
      if (this.screenTrack !== track) return;
      void this.stopScreen().finally(() => this.onScreenEnded?.());
    });
    if (existing && !existing.closed) {
      await existing.replaceTrack({ track });
      await this.setPaused('screen', false);
      return;
    }
    this.#producers.set('screen', await produceTrack(this.transport, this.device, track, 'screen'));
  }

  /** Stops sharing the screen (its producer pauses; viewers' layouts drop it). */
  async stopScreen(): Promise<void> {
    const track = this.screenTrack;
    this.screenTrack = undefined;
    track?.stop();
    await this.setPaused('screen', true);
  }

  /** Stops sending and releases the camera, microphone and screen; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#producers.values()) p.close();
    this.transport.close();
    stopCapture(this.camera);
    this.screenTrack?.stop();
    this.screenTrack = undefined;
  }
}
