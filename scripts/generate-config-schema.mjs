// Writes config/ksail-fluxd.schema.json from the built zod schema (run through `npm run schema`, which builds
// first). test/unit/config/json-schema.test.ts fails when the committed file is out of date.
import { writeFile } from 'node:fs/promises';
import { configJsonSchema, CONFIG_SCHEMA_FILE } from '../dist/config/json-schema.js';

const target = new URL(`../${CONFIG_SCHEMA_FILE}`, import.meta.url);
await writeFile(target, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${CONFIG_SCHEMA_FILE}\n`);
