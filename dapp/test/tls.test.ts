// The production topology in Chromium: nginx terminates TLS in front of the stack as `npm start` runs it, with the
// template docker-compose.yml's proxy renders (deploy/nginx/persecond.conf.template; here Debian's nginx on loopback,
// a test CA's certificate for persecond.test and its subdomains). Alice goes live from https://persecond.test; Bob
// watches over WebRTC and Charlie over HLS (served by the edge behind https://hls.persecond.test), and both pay.
// Sign-in, Socket.IO and the chain's RPC go through the proxy (HTTPS, WSS), nothing is fetched over plain HTTP, and
// the session cookie is Secure. Chromium reaches the test names through --host-resolver-rules (no /etc/hosts entry)
// and trusts the certificate through --ignore-certificate-errors-spki-list with the leaf's SPKI hash (no
// ignoreHTTPSErrors).
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/start/freePort.ts';
import { launchSharedBrowser, openApp, type SharedBrowser, WEBRTC_ARGS } from './support/browser.ts';
import { buildInjectedWallet } from './support/injectedWallet.ts';
import { expectNoPageErrors, reportPages, stopAtFirstFailure } from './support/pageFailures.ts';
import { connectWallet, framesDecoded, goLive, mediaTime, type Person, person, signIn } from './support/people.ts';
import { type Stack, startStack } from './support/stack.ts';
import { TEST_DOMAIN, TlsProxy } from './support/tlsProxy.ts';

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'tls');
const TITLE = 'Live over TLS';

/** What this test reads of the DEV-only hook of the watch page (`globalThis.__persecondWatch`). */
interface WatchHook {
  __persecondWatch?: { settled: bigint };
}

describe('the journey through the TLS proxy: HTTPS dapp, WSS signaling and chain, HTTPS HLS, Secure cookies', () => {
  let proxy: TlsProxy | undefined;
  let stack: Stack | undefined;
  let browser: SharedBrowser | undefined;
  let bundle: Awaited<ReturnType<typeof buildInjectedWallet>> | undefined;
  let alice: Person;
  let bob: Person;
  let charlie: Person;
  let streamId = '';
  /** Every URL the pages requested, and every WebSocket they opened. */
  const requested: string[] = [];
  const sockets: string[] = [];
  const people = () => [alice, bob, charlie].filter((p): p is Person => p !== undefined);
  stopAtFirstFailure(async () => {
    const nginx = `\n--- nginx access log (last lines):\n${(proxy?.accessLog() ?? '').split('\n').slice(-40).join('\n')}`;
    await reportPages(resultsDir, people(), `${stack?.output() ?? ''}${nginx}`);
  });
  const tls = (): TlsProxy => {
    if (!proxy) throw new Error('not started');
    return proxy;
  };
  const settled = (p: Person) =>
    p.page.evaluate(() => String((globalThis as WatchHook).__persecondWatch?.settled ?? 0n)).then(BigInt);

  beforeAll(async () => {
    mkdirSync(resultsDir, { recursive: true });
    const p = await TlsProxy.create();
    proxy = p;
    // Fixed here so that the proxy knows where the edge listens.
    const hlsEdgePort = await freePort();
    [stack, bundle, browser] = await Promise.all([
      startStack({
        env: {
          // One WebRTC viewer (audio + video consumers): the next one is sent to HLS.
          SFU_NUM_WORKERS: '1',
          SFU_CONSUMERS_PER_WORKER: '2',
          HLS_EDGE_PORT: String(hlsEdgePort),
          // The public side, as docker-compose.yml configures it: the dapp's origin, where browsers reach signaling,
          // the chain and the HLS edge, a Secure cookie, and the proxy trusted to name the client.
          CORS_ORIGINS: p.url('dapp'),
          PUBLIC_SIGNALING_URL: p.url('signaling'),
          PUBLIC_CHAIN_WS_URL: p.url('chain'),
          HLS_PUBLIC_URL: p.url('hls'),
          SESSION_COOKIE_SECURE: 'true',
          TRUST_PROXY: 'loopback',
          // The proxy passes the public Host on; Vite's dev server answers only host names it was told about (a
          // deployment's built dapp does not look at Host: its ORIGIN is set).
          __VITE_ADDITIONAL_SERVER_ALLOWED_HOSTS: TEST_DOMAIN,
        },
      }),
      buildInjectedWallet(),
      launchSharedBrowser([...WEBRTC_ARGS, ...p.chromiumArgs]),
    ]);
    const host = (url: string) => new URL(url).host;
    await p.start({
      dapp: host(stack.dapp),
      signaling: host(stack.signaling),
      hls: `127.0.0.1:${hlsEdgePort}`,
      chain: host(stack.chain),
    });
    const b = browser;
    const wallet = bundle.path;
    [alice, bob, charlie] = (await Promise.all(
      ['//Alice', '//Bob', '//Charlie'].map((uri) => b.newContext().then((c) => person(c, wallet, uri))),
    )) as [Person, Person, Person];
    for (const one of people()) {
      one.page.on('request', (r) => requested.push(r.url()));
      one.page.on('websocket', (ws) => sockets.push(ws.url()));
    }
  }, 420_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await proxy?.close();
    bundle?.dispose();
  });

  it('answers over TLS only, for its own host names: plain HTTP is redirected, another name gets no handshake', async () => {
    const redirect = await tls().getPlain(TEST_DOMAIN, '/watch/abc?x=1');
    expect(redirect.status).toBe(308);
    expect(redirect.headers.location).toBe(`https://${TEST_DOMAIN}/watch/abc?x=1`);
    for (const service of ['dapp', 'signaling', 'hls'] as const) {
      const health = await tls().get(service, '/healthz');
      expect(health.status, service).toBe(200);
      expect(health.headers['strict-transport-security'], service).toMatch(/^max-age=\d+$/);
    }
    // nginx's alert (ssl_reject_handshake), not a certificate that does not match the name.
    await expect(tls().get('dapp', '/healthz', 'elsewhere.test')).rejects.toThrow(/tlsv1 unrecognized name/);
  });

  it('Alice goes live from the studio at https://persecond.test, a secure origin', { timeout: 150_000 }, async () => {
    streamId = await goLive(alice, tls().url('dapp'), TITLE);
    expect(alice.page.url().startsWith(`${tls().url('dapp')}/studio`)).toBe(true);
    expect(await alice.page.evaluate('window.isSecureContext')).toBe(true);
  });

  it('Bob watches over WebRTC and Charlie over HLS through the proxy, and both pay', { timeout: 240_000 }, async () => {
    const watchPage = `${tls().url('dapp')}/watch/${streamId}`;
    const ready = async (p: Person) => {
      await openApp(p.page, watchPage);
      await connectWallet(p);
      await signIn(p);
      await expect.poll(() => p.page.getByTestId('budget').inputValue(), { timeout: 20_000 }).not.toBe('');
    };
    await Promise.all([ready(bob), ready(charlie)]);
    // Bob first: he takes the only WebRTC place.
    await bob.page.getByTestId('watch').click();
    await expect
      .poll(() => bob.page.getByTestId('mode').textContent(), { timeout: 60_000 })
      .toContain('Real-time (WebRTC)');
    await expect.poll(() => framesDecoded(bob.page), { timeout: 30_000 }).toBeGreaterThan(0);

    const c = charlie.page;
    await c.getByTestId('watch').click();
    await expect.poll(() => c.getByTestId('mode').textContent(), { timeout: 60_000 }).toContain('Standard (HLS)');
    await expect.poll(() => mediaTime(c), { timeout: 60_000 }).toBeGreaterThan(0);
    const charlieFrom = await mediaTime(c);
    // Media time: a live stream plays no faster than it is produced, whatever the machine's load.
    await expect
      .poll(async () => (await mediaTime(c)) - charlieFrom, { timeout: 60_000, interval: 1_000 })
      .toBeGreaterThan(5);

    // Each has paid: a settlement landed on chain (submitted over wss://chain…) and was counted.
    await expect.poll(() => settled(bob), { timeout: 90_000, interval: 1_000 }).toBeGreaterThan(0n);
    await expect.poll(() => settled(charlie), { timeout: 90_000, interval: 1_000 }).toBeGreaterThan(0n);
    const frames = await framesDecoded(bob.page);
    await expect.poll(() => framesDecoded(bob.page), { timeout: 20_000 }).toBeGreaterThan(frames + 30);
    expect(await bob.page.getByTestId('mode').textContent()).toContain('Real-time (WebRTC)');
    expect(await c.getByTestId('mode').textContent()).toContain('Standard (HLS)');
    await bob.page.screenshot({ path: join(resultsDir, 'watch-webrtc.png') });
    await c.screenshot({ path: join(resultsDir, 'watch-hls.png') });
  });

  it('went through the proxy over TLS only, and the session cookie is Secure', async () => {
    const signalingWss = tls()
      .url('signaling')
      .replace(/^https:/, 'wss:');
    const hlsBase = `${tls().url('hls')}/hls/${streamId}/`;
    // Nothing over plain HTTP or WS: no mixed content, nothing around the proxy.
    expect(requested.filter((u) => /^(http|ws):/.test(u))).toEqual([]);
    expect(sockets.filter((u) => !u.startsWith('wss:'))).toEqual([]);
    expect(requested.some((u) => u.startsWith(`${tls().url('signaling')}/v1/auth/verify`))).toBe(true);
    expect(sockets.some((u) => u.startsWith(`${signalingWss}/socket.io/`))).toBe(true);
    expect(sockets.some((u) => u.startsWith(tls().url('chain')))).toBe(true);
    // Charlie's player fetched the playlist and segments from the edge behind the proxy.
    expect(requested.some((u) => u.startsWith(hlsBase) && u.includes('.m3u8'))).toBe(true);
    expect(requested.some((u) => u.startsWith(hlsBase) && !u.includes('.m3u8'))).toBe(true);
    // nginx answered them: sign-ins on the signaling host, playlists on the HLS host.
    const log = tls().accessLog();
    expect(log).toMatch(/^api\.persecond\.test 200 "POST \/v1\/auth\/verify /m);
    expect(log).toMatch(new RegExp(`^hls\\.persecond\\.test 200 "GET /hls/${streamId}/\\S+\\.m3u8`, 'm'));
    // The browser's cookie jar: each person's session cookie for the signaling host, Secure and HttpOnly.
    for (const p of people()) {
      const cookies = await p.context.cookies(tls().url('signaling'));
      expect(
        cookies
          .filter((k) => k.name === 'ps_session')
          .map(({ domain, secure, httpOnly, sameSite }) => ({
            domain,
            secure,
            httpOnly,
            sameSite,
          })),
        p.name,
      ).toEqual([{ domain: `api.${TEST_DOMAIN}`, secure: true, httpOnly: true, sameSite: 'Lax' }]);
    }
    for (const p of people()) {
      expect(
        p.consoleErrors.filter((m) => /Mixed Content|ERR_CERT|ERR_SSL/.test(m)),
        p.name,
      ).toEqual([]);
    }
    expectNoPageErrors(people());
  });
});
