// TLS in front of the stack as a deployment has it: deploy/nginx/persecond.conf.template (the template
// docker-compose.yml's nginx image renders) rendered for loopback and served by Debian's nginx, with a certificate
// made here with openssl: a test CA and a leaf for the test host names, which Chromium reaches through
// --host-resolver-rules and trusts through --ignore-certificate-errors-spki-list (the leaf's SPKI hash).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../../scripts/start/freePort.ts';

const TEMPLATE = join(dirname(fileURLToPath(import.meta.url)), '../../../deploy/nginx/persecond.conf.template');
const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';

/** The test's public domain; its names resolve to 127.0.0.1 in Chromium only (no /etc/hosts entry). */
export const TEST_DOMAIN = 'persecond.test';
/** The public host name of each service behind the proxy, as docker-compose.yml names them. */
const HOSTS = {
  dapp: TEST_DOMAIN,
  signaling: `api.${TEST_DOMAIN}`,
  hls: `hls.${TEST_DOMAIN}`,
  chain: `chain.${TEST_DOMAIN}`,
} as const;
/** A service reached through the proxy. */
export type PublicService = keyof typeof HOSTS;

/** An answer to a request made from Node through the proxy. */
export interface ProxyAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Fills in `${NAME}` as the nginx image's envsubst step does; a variable not given is an error, not left in. */
export function renderTemplate(template: string, vars: Readonly<Record<string, string>>): string {
  return template.replace(/\$\{([A-Z][A-Z0-9_]*)\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`the nginx template needs ${name}`);
    return value;
  });
}

/** The test CA and a leaf for every test host name (2 days, P-256), written to `dir`; the leaf's PEM and the CA's. */
function makeCertificates(dir: string): { leaf: string; ca: string } {
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=Persecond test CA',
  );
  openssl('req', ...ec, '-keyout', f('key.pem'), '-out', f('leaf.csr'), '-subj', `/CN=${TEST_DOMAIN}`);
  const names = Object.values(HOSTS).map((h) => `DNS:${h}`);
  writeFileSync(
    f('leaf.ext'),
    [
      `subjectAltName=${names.join(',')}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
    ].join('\n'),
  );
  openssl(
    'x509',
    '-req',
    '-in',
    f('leaf.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    f('leaf.ext'),
    '-out',
    f('leaf.pem'),
  );
  const leaf = readFileSync(f('leaf.pem'), 'utf8');
  const ca = readFileSync(f('ca.pem'), 'utf8');
  // As a deployment serves it: the leaf, then the chain up to (here: including) the CA.
  writeFileSync(f('fullchain.pem'), leaf + ca);
  return { leaf, ca };
}

/** nginx's main configuration around the rendered template: all its files in `dir`, in the foreground. */
function mainConfig(dir: string): string {
  const tmp = (name: string) => join(dir, 'tmp', name);
  return [
    'daemon off;',
    'worker_processes 1;',
    // As root, nginx's workers run as Debian's web server user (it must reach the temporary directories below).
    ...(process.getuid?.() === 0 ? ['user www-data;'] : []),
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    'events { worker_connections 512; }',
    'http {',
    `  log_format persecond '$host $status "$request"';`,
    `  access_log ${join(dir, 'access.log')} persecond;`,
    `  client_body_temp_path ${tmp('client_body')};`,
    `  proxy_temp_path ${tmp('proxy')};`,
    `  fastcgi_temp_path ${tmp('fastcgi')};`,
    `  uwsgi_temp_path ${tmp('uwsgi')};`,
    `  scgi_temp_path ${tmp('scgi')};`,
    `  include ${join(dir, 'persecond.conf')};`,
    '}',
    '',
  ].join('\n');
}

/** Debian's nginx serving the deployment's TLS template on loopback ports, for the test host names. */
export class TlsProxy {
  #nginx: ChildProcess | undefined;
  #exited: Promise<void> | undefined;
  #output = '';
  #closing: Promise<void> | undefined;

  private constructor(
    /** Its directory: certificates, configuration, logs, temporary files. */
    readonly dir: string,
    /** The HTTPS port (443 in a deployment). */
    readonly port: number,
    /** The plain HTTP port, which only redirects (80 in a deployment). */
    readonly httpPort: number,
    /** The test CA (PEM), for Node's requests through the proxy. */
    private readonly ca: string,
    /** base64 SHA-256 of the leaf's SubjectPublicKeyInfo, as Chromium's SPKI list takes it. */
    readonly spkiHash: string,
  ) {}

  /** Makes the certificates and picks the ports; nothing listens until `start`. */
  static async create(): Promise<TlsProxy> {
    const dir = mkdtempSync(join(tmpdir(), 'persecond-tls-'));
    // nginx's workers (www-data when run as root) reach their temporary directories inside it.
    chmodSync(dir, 0o711);
    const { leaf, ca } = makeCertificates(dir);
    const spki = new X509Certificate(leaf).publicKey.export({ type: 'spki', format: 'der' });
    const [port, httpPort] = await Promise.all([freePort(), freePort()]);
    return new TlsProxy(dir, port, httpPort, ca, createHash('sha256').update(spki).digest('base64'));
  }

  /** The public URL of `service` (the chain's is a WebSocket URL). */
  url(service: PublicService): string {
    return `${service === 'chain' ? 'wss' : 'https'}://${HOSTS[service]}:${this.port}`;
  }

  /** Chromium flags: the test host names resolve to 127.0.0.1, and the leaf's key is trusted. */
  get chromiumArgs(): string[] {
    return [
      `--host-resolver-rules=MAP ${TEST_DOMAIN} 127.0.0.1,MAP *.${TEST_DOMAIN} 127.0.0.1`,
      `--ignore-certificate-errors-spki-list=${this.spkiHash}`,
    ];
  }

  /** Renders the template for `upstreams` (host:port of each service), starts nginx and waits until it serves. */
  async start(upstreams: Readonly<Record<PublicService, string>>): Promise<void> {
    const conf = renderTemplate(readFileSync(TEMPLATE, 'utf8'), {
      PERSECOND_HTTPS_PORT: `127.0.0.1:${this.port}`,
      PERSECOND_HTTP_PORT: `127.0.0.1:${this.httpPort}`,
      PERSECOND_TLS_CERT: join(this.dir, 'fullchain.pem'),
      PERSECOND_TLS_KEY: join(this.dir, 'key.pem'),
      // Never asked: every upstream here is an address.
      PERSECOND_RESOLVER: '127.0.0.1',
      PERSECOND_DAPP_HOST: HOSTS.dapp,
      PERSECOND_SIGNALING_HOST: HOSTS.signaling,
      PERSECOND_HLS_HOST: HOSTS.hls,
      PERSECOND_CHAIN_HOST: HOSTS.chain,
      PERSECOND_DAPP_UPSTREAM: upstreams.dapp,
      PERSECOND_SIGNALING_UPSTREAM: upstreams.signaling,
      PERSECOND_HLS_UPSTREAM: upstreams.hls,
      PERSECOND_CHAIN_UPSTREAM: upstreams.chain,
    });
    writeFileSync(join(this.dir, 'persecond.conf'), conf);
    writeFileSync(join(this.dir, 'nginx.conf'), mainConfig(this.dir));
    // nginx creates its temporary directories (owned by its workers' user) in this one.
    mkdirSync(join(this.dir, 'tmp'), { mode: 0o755 });
    if (!existsSync(NGINX)) throw new Error(`${NGINX} is missing: npm install installs Debian's nginx`);
    const errorLog = join(this.dir, 'error.log');
    const child = spawn(NGINX, ['-p', this.dir, '-c', join(this.dir, 'nginx.conf'), '-e', errorLog], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: the master and its worker stop together.
      detached: true,
    });
    this.#nginx = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.stdout?.on('data', (d: Buffer) => {
      this.#output += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.#output += d.toString();
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}):\n${this.#diagnostics()}`);
      const answer = await this.get('dapp', '/healthz').catch(() => undefined);
      if (answer?.status === 200) return;
      if (Date.now() > deadline) throw new Error(`nginx did not serve the dapp within 30 s:\n${this.#diagnostics()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** GET `path` of `service` through the proxy over HTTPS, verifying its certificate against the test CA. */
  get(service: PublicService, path: string, servername: string = HOSTS[service]): Promise<ProxyAnswer> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: this.port,
          path,
          servername,
          ca: this.ca,
          headers: { host: `${HOSTS[service]}:${this.port}` },
          timeout: 20_000,
        },
        (res) => collect(res, resolve, reject),
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });
  }

  /** GET `path` on the plain HTTP port with `host` as Host header. */
  getPlain(host: string, path: string): Promise<ProxyAnswer> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: this.httpPort, path, headers: { host }, timeout: 20_000 },
        (res) => collect(res, resolve, reject),
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });
  }

  /** The requests nginx finished so far, one line each: `host status "METHOD path HTTP/x"`. */
  accessLog(): string {
    const file = join(this.dir, 'access.log');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  /** Stops nginx (its whole group) and removes its directory; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const child = this.#nginx;
      if (child?.pid && child.exitCode === null && child.signalCode === null) {
        killGroup(child.pid, 'SIGTERM');
        const killer = setTimeout(() => killGroup(child.pid as number, 'SIGKILL'), 5_000);
        await this.#exited;
        clearTimeout(killer);
      }
      rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.#closing;
  }

  #diagnostics(): string {
    const errorLog = join(this.dir, 'error.log');
    return `${this.#output}${existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : ''}`;
  }
}

function collect(res: IncomingMessage, resolve: (a: ProxyAnswer) => void, reject: (e: Error) => void): void {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    body += chunk;
  });
  res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
  res.on('error', reject);
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
