import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { unixfs } from '@helia/unixfs';
import type { Helia } from 'helia';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { CID } from 'multiformats/cid';

/**
 * TEST DOUBLE OF A KUBO NODE'S RPC API, backed by a real Helia node: there is no Kubo binary on these machines.
 * It serves the subset kubo-rpc-client uses for pinning (/api/v0/add, cat, pin/add, pin/ls) with Kubo's
 * parameter names, defaults (CIDv0 unless cid-version=1, 174 links) and error messages. It is not Kubo.
 */
export interface HeliaBackedKuboRpcServer {
  /** RPC base URL, e.g. http://127.0.0.1:PORT */
  url: string;
  /** Requests so far, path and query (e.g. "/api/v0/add?cid-version=1&..."). */
  readonly requests: string[];
  close(): Promise<void>;
}

class RpcError extends Error {}

/** Starts the Helia-backed Kubo RPC test server on 127.0.0.1 with an ephemeral port. */
export async function startHeliaBackedKuboRpcServer(helia: Helia): Promise<HeliaBackedKuboRpcServer> {
  const fs = unixfs(helia);
  const requests: string[] = [];

  const pinRecursive = async (cid: CID) => {
    if (!(await helia.blockstore.has(cid)))
      throw new RpcError(`pin: block was not found locally (offline): ipld: could not find ${cid}`);
    if (await helia.pins.isPinned(cid)) return;
    for await (const _ of helia.pins.add(cid)) {
      // drain
    }
  };

  const add = async (req: http.IncomingMessage, params: URLSearchParams) => {
    const form = await new Request('http://127.0.0.1/', {
      method: 'POST',
      headers: { 'content-type': req.headers['content-type'] ?? '' },
      body: await readBody(req),
    }).formData();
    const file = [...form.values()].find((v): v is File => typeof v !== 'string');
    if (!file) throw new RpcError('add: no file part');
    const cidVersion = Number(params.get('cid-version') ?? 0);
    if (cidVersion !== 0 && cidVersion !== 1) throw new RpcError(`unknown CID version: ${cidVersion}`);
    const rawLeaves = params.has('raw-leaves') ? params.get('raw-leaves') === 'true' : cidVersion === 1;
    const chunker = /^size-(\d+)$/.exec(params.get('chunker') ?? 'size-262144');
    if (!chunker) throw new RpcError(`unrecognized chunker option: ${params.get('chunker')}`);
    const hash = params.get('hash') ?? 'sha2-256';
    if (hash !== 'sha2-256') throw new RpcError(`this test server only supports sha2-256, not ${hash}`);
    const bytes = new Uint8Array(await file.arrayBuffer());
    const cid = await fs.addBytes(bytes, {
      cidVersion,
      rawLeaves,
      chunker: fixedSize({ chunkSize: Number(chunker[1]) }),
      layout: balanced({ maxChildrenPerNode: 174 }),
    });
    if (params.get('pin') !== 'false') await pinRecursive(cid);
    return { Name: cid.toString(), Hash: cid.toString(), Size: String(bytes.byteLength) };
  };

  const cat = async (res: http.ServerResponse, params: URLSearchParams) => {
    const cid = parseArg(params);
    const offset = params.has('offset') ? Number(params.get('offset')) : undefined;
    const length = params.has('length') ? Number(params.get('length')) : undefined;
    const chunks: Uint8Array[] = [];
    try {
      for await (const chunk of fs.cat(cid, { offline: true, offset, length })) chunks.push(chunk);
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'BlockNotFoundWhileOfflineError') {
        throw new RpcError(`block was not found locally (offline): ipld: could not find ${cid}`);
      }
      if (name === 'NotAFileError') throw new RpcError('this dag node is a directory');
      if (name === 'NotUnixFSError') throw new RpcError(`cat: unsupported node type for ${cid}`);
      throw err;
    }
    res.setHeader('content-type', 'text/plain');
    res.setHeader('x-stream-output', '1');
    res.end(Buffer.concat(chunks));
  };

  const pinLs = async (res: http.ServerResponse, params: URLSearchParams) => {
    const lines: string[] = [];
    for (const arg of params.getAll('arg')) {
      const cid = parseCid(arg);
      if (!(await helia.pins.isPinned(cid))) throw new RpcError(`path '${arg}' is not pinned`);
      const direct = await helia.pins.get(cid).then(
        () => true,
        () => false,
      );
      lines.push(JSON.stringify({ Cid: cid.toString(), Type: direct ? 'recursive' : 'indirect' }));
    }
    res.setHeader('content-type', 'application/json');
    res.setHeader('x-chunked-output', '1');
    res.end(lines.map((l) => `${l}\n`).join(''));
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(url.pathname + url.search);
    const params = url.searchParams;
    try {
      if (req.method !== 'POST') {
        res.statusCode = 405;
        return sendJson(res, { Message: `${req.method} is not allowed, use POST`, Code: 0, Type: 'error' });
      }
      switch (url.pathname) {
        case '/api/v0/add':
          return sendJson(res, await add(req, params));
        case '/api/v0/cat':
          return await cat(res, params);
        case '/api/v0/pin/add': {
          await readBody(req);
          const cid = parseArg(params);
          await pinRecursive(cid);
          return sendJson(res, { Pins: [cid.toString()] });
        }
        case '/api/v0/pin/ls':
          await readBody(req);
          return await pinLs(res, params);
        default:
          res.statusCode = 404;
          return sendJson(res, {
            Message: `not implemented by the test server: ${url.pathname}`,
            Code: 0,
            Type: 'error',
          });
      }
    } catch (err) {
      res.statusCode = 500;
      sendJson(res, { Message: (err as Error).message, Code: 0, Type: 'error' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

function parseArg(params: URLSearchParams): CID {
  const arg = params.get('arg');
  if (arg === null) throw new RpcError('argument "ipfs-path" is required');
  return parseCid(arg);
}

function parseCid(arg: string): CID {
  try {
    return CID.parse(arg.replace(/^\/ipfs\//, ''));
  } catch {
    throw new RpcError(`invalid path "${arg}": invalid cid`);
  }
}

function sendJson(res: http.ServerResponse, body: unknown): void {
  res.setHeader('content-type', 'application/json');
  res.end(`${JSON.stringify(body)}\n`);
}
