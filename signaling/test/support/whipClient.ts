// A WHIP client (RFC 9725) as OBS is one: a libwebrtc peer connection (@roamhq/wrtc) sending the synthetic camera and
// microphone in `sendonly` sections, its offer POSTed with the stream key as bearer token, the answer applied.
import { createRequire } from 'node:module';
import type * as Wrtc from '@roamhq/wrtc';
import { type MediaKind, startTestMedia, type TestMedia } from '../../../sfu/test/helpers/nodeWebrtc.ts';

const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as typeof Wrtc;

/** What a WHIP POST answered. */
export interface WhipAnswer {
  status: number;
  headers: Headers;
  /** The SDP answer (201) or the JSON refusal's text. */
  text: string;
  /** The refusal, when the answer is JSON. */
  json?: { ok: boolean; code?: string; message?: string; details?: Record<string, string> };
}

/** POSTs `body` to `url` as a WHIP client would (`token` as bearer, `application/sdp` unless told otherwise). */
export async function whipPost(
  url: string,
  body: string,
  opts: { token?: string; contentType?: string; headers?: Record<string, string> } = {},
): Promise<WhipAnswer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': opts.contentType ?? 'application/sdp',
      ...(opts.token === undefined ? {} : { authorization: `Bearer ${opts.token}` }),
      ...opts.headers,
    },
    body,
  });
  const text = await res.text();
  let json: WhipAnswer['json'];
  if (res.headers.get('content-type')?.startsWith('application/json')) json = JSON.parse(text);
  return { status: res.status, headers: res.headers, text, ...(json ? { json } : {}) };
}

/** A publishing WHIP client. */
export interface WhipPublisher {
  readonly pc: Wrtc.RTCPeerConnection;
  /** The POST's answer (201 when it started). */
  readonly answer: WhipAnswer;
  /** The session's resource URL (absolute), from `Location`. */
  readonly resource: string | undefined;
  /** Waits until ICE and DTLS are connected. */
  connected(timeoutMs?: number): Promise<void>;
  /** DELETEs the resource (OBS's "Stop streaming"); resolves with its status. */
  stop(): Promise<number>;
  /** Closes the peer connection without telling the server (a crash, a cable pulled); safe to call twice. */
  close(): void;
}

/**
 * Offers the synthetic `kinds` to the WHIP endpoint `url` with `token`; applies the answer when it is a 201. The media
 * runs until `close()`.
 */
export async function startWhipPublisher(
  url: string,
  token: string | undefined,
  kinds: MediaKind[] = ['video', 'audio'],
): Promise<WhipPublisher> {
  const media: TestMedia = startTestMedia();
  const pc = new wrtc.RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  for (const kind of kinds) pc.addTransceiver(media.tracks[kind] as never, { direction: 'sendonly' });
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  const answer = await whipPost(url, pc.localDescription?.sdp ?? '', token === undefined ? {} : { token });
  const location = answer.headers.get('location');
  const resource = location ? new URL(location, url).toString() : undefined;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    media.stop();
    pc.close();
  };
  if (answer.status === 201) await pc.setRemoteDescription({ type: 'answer', sdp: answer.text });
  else close();
  return {
    pc,
    answer,
    resource,
    connected: (timeoutMs = 20_000) =>
      new Promise<void>((resolve, reject) => {
        const started = Date.now();
        const poll = () => {
          if (pc.connectionState === 'connected') resolve();
          else if (Date.now() - started > timeoutMs || pc.connectionState === 'failed' || closed) {
            reject(new Error(`the WHIP connection did not come up (${pc.connectionState})`));
          } else setTimeout(poll, 50);
        };
        poll();
      }),
    stop: async () => {
      const res = resource ? await fetch(resource, { method: 'DELETE' }) : undefined;
      await res?.arrayBuffer();
      close();
      return res?.status ?? 0;
    },
    close,
  };
}
