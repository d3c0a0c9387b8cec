// Serves a test page, mediasoup-client (bundled for the browser), hls.js, a JSON RPC onto a Room and the
// Sfu's HLS reader, then drives Debian's Chromium with playwright-core (fake camera/mic, loopback WebRTC).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { type BrowserContext, chromium } from 'playwright-core';
import type { Room, Sfu } from '../../src/index.ts';

const require = createRequire(import.meta.url);

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

async function bundleMediasoupClient(): Promise<string> {
  const out = await build({
    stdin: { contents: "export * from 'mediasoup-client';", resolveDir: import.meta.dirname, loader: 'js' },
    bundle: true,
    format: 'iife',
    globalName: 'mediasoupClient',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

export interface BrowserHarness {
  url: string;
  context: BrowserContext;
  close(): Promise<void>;
}

export async function startBrowserHarness(sfu: Sfu, room: Room): Promise<BrowserHarness> {
  const page = readFileSync(join(import.meta.dirname, '../browser/page.html'));
  const hlsJs = readFileSync(require.resolve('hls.js/dist/hls.min.js'));
  const clientJs = await bundleMediasoupClient();
  const rpc: Record<string, (...args: never[]) => unknown> = {
    rtpCapabilities: () => room.rtpCapabilities,
    createPublisherTransport: () => room.createPublisherTransport(),
    connectTransport: (id: string, dtls: never) => room.connectTransport(id, dtls),
    produce: (id: string, kind: never, params: never) => room.produce(id, kind, params),
    addViewer: (id: string) => room.addViewer(id),
    consume: (id: string, caps: never) => room.consume(id, caps),
    resumeConsumer: (id: string) => room.resumeConsumer(id),
  };
  const server: Server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache' }).end(body);
    };
    if (path === '/') return send(200, 'text/html', page);
    if (path === '/hls.js') return send(200, 'text/javascript', hlsJs);
    if (path === '/mediasoup-client.js') return send(200, 'text/javascript', clientJs);
    const hls = /^\/hls\/([^/]+)\/([^/]+)$/.exec(path);
    if (hls) {
      const file = await sfu.hls.read(hls[1]!, hls[2]!);
      return file ? send(200, file.contentType, file.body) : send(404, 'text/plain', 'not found');
    }
    if (path === '/rpc' && req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const { method, args } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        method: string;
        args: never[];
      };
      try {
        const fn = rpc[method];
        if (!fn) throw new Error(`unknown method ${method}`);
        return send(200, 'application/json', JSON.stringify({ ok: true, result: await fn(...args) }));
      } catch (err) {
        return send(200, 'application/json', JSON.stringify({ ok: false, error: (err as Error).message }));
      }
    }
    send(404, 'text/plain', 'not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const profile = mkdtempSync(join(tmpdir(), 'sfu-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: CHROMIUM_ARGS,
  });
  return {
    url,
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
