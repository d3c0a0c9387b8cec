// Simulcast end to end in real Chromium on the stack as `npm start` runs it: Alice goes live from the studio (fake
// camera, sent as three VP8 layers); Bob watches over WebRTC and picks his layer in the player's quality menu: the
// menu offers Auto/High/Medium/Low, Low brings a small picture and High the full one, as the menu and the decoded
// picture both say. Then, on the same live stream, Alice's studio controls: muting her microphone silences what Bob
// hears (measured on his decoded track) and unmuting brings it back on the same track; her camera off stops his
// frames while he keeps hearing and paying, and on again brings them back; another microphone picked while live
// reaches him on the same track too.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp } from './support/browser.ts';
import { loudness, sameAudioTrack, startListening } from './support/listening.ts';
import { expectNoPageErrors, stopAtFirstFailure } from './support/pageFailures.ts';
import { connectWallet, framesDecoded, goLive, type Person, signIn } from './support/people.ts';
import { type Stage, setStage } from './support/stage.ts';

/** RMS levels (0–1) of the loudest window of a reading: the fake microphone's beeps, and what is left of a muted one. */
const SOUNDING = 0.01;
const SILENT = 0.001;

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'simulcast');

describe('simulcast from the studio, layers picked in the player', () => {
  let stage: Stage | undefined;
  let alice: Person;
  let bob: Person;
  /** When Bob clicked Watch: he cannot have been charged for more seconds than have passed since. */
  let watchingSince = 0;
  stopAtFirstFailure(async () => {
    await stage?.report(resultsDir);
  });

  beforeAll(async () => {
    mkdirSync(resultsDir, { recursive: true });
    stage = await setStage(['Alice', 'Bob'], { readyTimeoutMs: 300_000 });
    const cast = (name: string): Person => {
      const p = stage?.people[name];
      if (!p) throw new Error(`no ${name}`);
      return p;
    };
    [alice, bob] = [cast('Alice'), cast('Bob')];
    for (const p of [alice, bob]) p.page.setDefaultNavigationTimeout(120_000);
  }, 420_000);

  afterAll(async () => {
    await stage?.close();
  });

  it("Bob's menu offers four choices; Low plays a small picture, High the full one", { timeout: 360_000 }, async () => {
    const stack = stage?.stack;
    if (!stack) throw new Error('not started');
    const streamId = await goLive(alice, stack.dapp, 'Simulcast');
    const { page } = bob;
    await openApp(page, `${stack.dapp}/watch/${streamId}`);
    await connectWallet(bob);
    await signIn(bob);
    await expect.poll(() => page.getByTestId('budget').inputValue(), { timeout: 20_000 }).not.toBe('');
    watchingSince = Date.now();
    await page.getByTestId('watch').click();
    await expect
      .poll(() => page.getByTestId('mode').textContent(), { timeout: 90_000 })
      .toContain('Real-time (WebRTC)');
    await expect.poll(() => framesDecoded(page), { timeout: 60_000 }).toBeGreaterThan(30);
    const menu = page.getByTestId('quality-menu');
    await expect
      .poll(() => menu.locator('option').allTextContents(), { timeout: 30_000 })
      .toEqual(['Auto', 'High', 'Medium', 'Low']);
    const playing = () => page.getByTestId('quality-playing').textContent();
    const height = async (label: string) =>
      Number(new RegExp(`^${label} · (\\d+)p$`).exec((await playing()) ?? '')?.[1] ?? 0);
    const videoHeight = () => page.evaluate<number>('document.querySelector("[data-testid=player]")?.videoHeight ?? 0');
    // High first, for the full picture as it arrives on this machine: on a busy one Chromium's CPU adaptation scales
    // the camera down and drops the layers that would get too small, so sizes are compared, not fixed.
    await menu.selectOption('high');
    await expect
      .poll(async () => (await height('High')) > 0 && (await height('High')) === (await videoHeight()), {
        timeout: 60_000,
      })
      .toBe(true);
    const high = await height('High');
    await menu.selectOption('low');
    // The label may still name the picture from before the switch: wait for the smaller one. A failure prints what
    // the menu, the picture and the studio's sender said.
    const seen = async () => ({
      label: await playing(),
      picture: await videoHeight(),
      studioSends: await alice.page.getByTestId('sending').getAttribute('data-height'),
    });
    await expect.poll(seen, { timeout: 60_000 }).toSatisfy(({ label }: { label: string | null }) => {
      const h = Number(/^Low · (\d+)p$/.exec(label ?? '')?.[1] ?? 0);
      return h > 0 && h < high;
    });
    const low = await height('Low');
    await expect.poll(() => videoHeight(), { timeout: 10_000 }).toBe(low);
    await page.screenshot({ path: join(resultsDir, 'bob-low.png'), fullPage: true });
    await menu.selectOption('high');
    await expect.poll(() => height('High'), { timeout: 60_000 }).toBeGreaterThanOrEqual(low * 2);
    await page.screenshot({ path: join(resultsDir, 'bob-high.png'), fullPage: true });
    expectNoPageErrors([alice, bob]);
  });

  it("Alice mutes and unmutes, turns her camera off and on, and picks a microphone: Bob's tracks stay", {
    timeout: 360_000,
  }, async () => {
    const studio = alice.page;
    const { page } = bob;
    // What the studio sends, from the send transport's statistics.
    const sending = studio.getByTestId('sending');
    await expect
      .poll(async () => Number((await sending.getAttribute('data-width')) ?? 0), { timeout: 30_000 })
      .toBeGreaterThan(0);
    expect(Number(await sending.getAttribute('data-fps'))).toBeGreaterThan(0);
    expect(Number(await sending.getAttribute('data-bitrate'))).toBeGreaterThan(0);

    await startListening(page);
    await expect.poll(() => loudness(page), { timeout: 60_000 }).toBeGreaterThan(SOUNDING);

    const microphone = studio.getByTestId('toggle-microphone');
    await microphone.click();
    await expect.poll(() => microphone.textContent(), { timeout: 20_000 }).toContain('Unmute microphone');
    await expect.poll(() => loudness(page), { timeout: 60_000 }).toBeLessThan(SILENT);
    // And it stays silent, not a reading between two beeps.
    for (let i = 0; i < 3; i++) expect(await loudness(page)).toBeLessThan(SILENT);
    expect(await sameAudioTrack(page)).toBe(true);
    await microphone.click();
    await expect.poll(() => microphone.textContent(), { timeout: 20_000 }).toContain('Mute microphone');
    await expect.poll(() => loudness(page), { timeout: 60_000 }).toBeGreaterThan(SOUNDING);
    expect(await sameAudioTrack(page)).toBe(true);

    // Camera off: Bob's frames stop (no new frame over 3 s) while he still hears Alice, and his page acknowledges the
    // seconds the server charges for the sound: more than had passed when the picture stopped.
    const camera = studio.getByTestId('toggle-camera');
    await camera.click();
    await expect.poll(() => camera.textContent(), { timeout: 20_000 }).toContain('Turn camera on');
    await expect
      .poll(
        async () => {
          const before = await framesDecoded(page);
          await page.waitForTimeout(3_000);
          return (await framesDecoded(page)) - before;
        },
        { timeout: 60_000 },
      )
      .toBe(0);
    const stoppedAt = await framesDecoded(page);
    const secondsUntilStopped = Math.ceil((Date.now() - watchingSince) / 1000) + 1;
    await expect.poll(() => watchedSeconds(bob), { timeout: 120_000 }).toBeGreaterThan(secondsUntilStopped);
    expect(await loudness(page)).toBeGreaterThan(SOUNDING);
    expect(await framesDecoded(page)).toBe(stoppedAt);
    await camera.click();
    await expect.poll(() => camera.textContent(), { timeout: 20_000 }).toContain('Turn camera off');
    await expect.poll(() => framesDecoded(page), { timeout: 60_000 }).toBeGreaterThan(stoppedAt + 30);

    // Another microphone (the last one listed, the same one when there is only one): a new track on the same producer.
    const sentTrack = () =>
      studio.evaluate<string>('document.querySelector("[data-testid=preview]").srcObject.getAudioTracks()[0].id');
    const before = await sentTrack();
    const picker = studio.getByTestId('microphone-picker');
    const choices = await studio.evaluate<string[]>(
      '[...document.querySelectorAll("[data-testid=microphone-picker] option")].map((o) => o.value)',
    );
    await picker.selectOption(choices[choices.length - 1] ?? '');
    await expect.poll(sentTrack, { timeout: 20_000 }).not.toBe(before);
    await expect.poll(() => loudness(page), { timeout: 60_000 }).toBeGreaterThan(SOUNDING);
    expect(await sameAudioTrack(page)).toBe(true);
    await studio.screenshot({ path: join(resultsDir, 'alice-controls.png'), fullPage: true });
    expectNoPageErrors([alice, bob]);
  });
});

/** Seconds of watching Bob's page acknowledged so far (its meter reads `42 s` or `1 min 5 s`). */
async function watchedSeconds(p: Person): Promise<number> {
  const text = (await p.page.getByTestId('watched').textContent()) ?? '';
  const m = /^(?:(\d+) min )?(\d+) s$/.exec(text.trim());
  if (!m) throw new Error(`the meter reads ${text}`);
  return Number(m[1] ?? 0) * 60 + Number(m[2]);
}
