import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_SCHEMA_FILE, configJsonSchema } from '../../../src/config/json-schema.js';
import { validateSchema } from '../../unit/flux/json-schema-subset.js';

const root = new URL('../../../', import.meta.url);
const read = (path: string): Promise<string> => readFile(new URL(path, root), 'utf8');

describe('the JSON Schema of ksail-fluxd.yaml', () => {
  it('is committed and up to date with the zod schema (regenerate with `npm run schema`)', async () => {
    const committed: unknown = JSON.parse(await read(CONFIG_SCHEMA_FILE));
    expect(committed).toEqual(configJsonSchema());
  });

  it('accepts the shipped example config and rejects a misspelled key', async () => {
    const schema = configJsonSchema();
    expect(validateSchema(schema, parse(await read('examples/ksail-fluxd.yaml')))).toEqual([]);
    const errors = validateSchema(schema, { flux: { namespase: 'x' } });
    expect(errors.join('\n')).toContain('namespase');
  });

  it('is what the example config points editors to', async () => {
    const [first] = (await read('config/ksail-fluxd.example.yaml')).split('\n');
    expect(first).toBe('# yaml-language-server: $schema=./ksail-fluxd.schema.json');
  });
});
