import WebSocket from 'ws';

/** Calls one JSON-RPC method over a WebSocket and returns its result. */
export function rpcCall(wsUrl: string, method: string, params: unknown[] = [], timeoutMs = 5_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`${method} timed out`));
    }, timeoutMs);
    ws.on('open', () => ws.send(JSON.stringify({ id: 1, jsonrpc: '2.0', method, params })));
    ws.on('message', (data) => {
      clearTimeout(timer);
      const msg = JSON.parse(String(data)) as { result?: unknown; error?: { message: string } };
      ws.close();
      if (msg.error) reject(new Error(msg.error.message));
      else resolve(msg.result);
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Polls `check` until it resolves or `timeoutMs` passes. */
export async function waitFor<T>(what: string, check: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await check();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`${what} not healthy after ${timeoutMs / 1000} s: ${(last as Error)?.message ?? last}`);
}

/** GETs a URL and returns its JSON body; throws unless 2xx. */
export async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return res.json();
}
