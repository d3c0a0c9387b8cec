// Cameras and microphones the person can pick, and their local preview stream.

/** A capture device as shown in the picker. */
export interface CaptureDevice {
  deviceId: string;
  label: string;
}

/** Lists cameras and microphones (labels appear once the person has granted access). */
export async function listCaptureDevices(): Promise<{ cameras: CaptureDevice[]; microphones: CaptureDevice[] }> {
  const all = await navigator.mediaDevices.enumerateDevices();
  const pick = (kind: MediaDeviceKind, fallback: string) =>
    all
      .filter((d) => d.kind === kind && d.deviceId !== '')
      .map((d, i) => ({ deviceId: d.deviceId, label: d.label || `${fallback} ${i + 1}` }));
  return { cameras: pick('videoinput', 'Camera'), microphones: pick('audioinput', 'Microphone') };
}

// 720p where the camera has it: the simulcast layers (1/4, 1/2, full) need the picture to fill three of them.
const camera = (cameraId?: string): MediaTrackConstraints => ({
  ...(cameraId ? { deviceId: { exact: cameraId } } : {}),
  width: { ideal: 1280 },
  height: { ideal: 720 },
});
const microphone = (microphoneId?: string): MediaTrackConstraints | true =>
  microphoneId ? { deviceId: { exact: microphoneId } } : true;

/** Opens the chosen camera and microphone (any when not chosen). */
export async function openCapture(cameraId?: string, microphoneId?: string): Promise<MediaStream> {
  return navigator.mediaDevices.getUserMedia({ video: camera(cameraId), audio: microphone(microphoneId) });
}

/** Opens one device alone: a camera (`video`) or a microphone (`audio`), to send in place of the current one. */
export async function openTrack(kind: 'audio' | 'video', deviceId: string): Promise<MediaStreamTrack> {
  const stream = await navigator.mediaDevices.getUserMedia(
    kind === 'video' ? { video: camera(deviceId) } : { audio: microphone(deviceId) },
  );
  const track = stream.getTracks()[0];
  if (!track) throw new DOMException('no track', 'NotFoundError');
  return track;
}

/** Stops every track of `stream`. */
export function stopCapture(stream: MediaStream | undefined): void {
  for (const track of stream?.getTracks() ?? []) track.stop();
}

/** A sentence for a getUserMedia failure. */
export function explainCaptureError(err: unknown): string {
  const name = err instanceof DOMException ? err.name : '';
  if (name === 'NotAllowedError')
    return 'Camera and microphone access was refused. Allow it in your browser and try again.';
  if (name === 'NotFoundError') return 'No camera or microphone was found. Connect one and try again.';
  if (name === 'NotReadableError') return 'Your camera or microphone is in use by another application.';
  return 'The camera or microphone could not be opened.';
}
