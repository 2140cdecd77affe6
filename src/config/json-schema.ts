import { z } from 'zod';
import { Config } from './schema.js';

/** Where the schema is committed (relative to the package root); `npm run schema` writes it. */
export const CONFIG_SCHEMA_FILE = 'config/ksail-fluxd.schema.json';

/**
 * The JSON Schema of `ksail-fluxd.yaml`, generated from the zod schema the loader validates with, so editors
 * (yaml-language-server) complete and check the same keys. `io: 'input'` describes what a user writes: defaults
 * are optional, and durations stay strings (the millisecond fields the loader adds are not keys of the file).
 * Cross-field rules (duplicate source names, volumeName or dataPath) have no JSON Schema form; the loader checks
 * them.
 */
export const configJsonSchema = (): Record<string, unknown> => ({
  ...z.toJSONSchema(Config, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }),
  title: 'ksail-fluxd.yaml',
  description:
    'Configuration of ksail-fluxd: the sources it watches and pushes, the local registry, and the Flux objects it drives.',
});
