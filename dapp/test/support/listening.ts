// What a viewer hears: a WebAudio AnalyserNode on the audio track the player receives, read in the page (scripts as
// text: this project's Node typings have no DOM).
import type { Page } from 'playwright-core';

/** Loudest analyser window (RMS of ~43 ms) of a reading: a beep of the fake microphone lands in one of them. */
const READING_MS = 1_100;

/** Hooks an analyser to the player's received audio track; remembers that track and how many the player has. */
export async function startListening(page: Page): Promise<void> {
  await page.evaluate(`(async () => {
    const stream = document.querySelector('[data-testid=player]').srcObject;
    const track = stream.getAudioTracks()[0];
    if (!track) throw new Error('the player receives no audio track');
    const context = new AudioContext();
    await context.resume();
    const analyser = context.createAnalyser();
    analyser.fftSize = 2048;
    context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    globalThis.__listening = { track, tracks: stream.getTracks().length, analyser };
  })()`);
}

/**
 * The loudest RMS level heard over about a second (0 silence, 1 full scale): longer than the fake microphone's gap
 * between beeps, so a reading of a sounding track is never taken between two of them.
 */
export function loudness(page: Page): Promise<number> {
  return page.evaluate<number>(`new Promise((resolve) => {
    const { analyser } = globalThis.__listening;
    const samples = new Float32Array(analyser.fftSize);
    const start = performance.now();
    let loudest = 0;
    const read = () => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const x of samples) sum += x * x;
      loudest = Math.max(loudest, Math.sqrt(sum / samples.length));
      if (performance.now() - start < ${READING_MS}) setTimeout(read, 20);
      else resolve(loudest);
    };
    read();
  })`);
}

/**
 * Whether the player still plays the audio track it had when listening started, live, with no track added or taken
 * away: what a renegotiation (a new consumer) would change.
 */
export function sameAudioTrack(page: Page): Promise<boolean> {
  return page.evaluate<boolean>(`(() => {
    const { track, tracks } = globalThis.__listening;
    const stream = document.querySelector('[data-testid=player]').srcObject;
    return stream.getAudioTracks()[0] === track && track.readyState === 'live' && stream.getTracks().length === tracks;
  })()`);
}
