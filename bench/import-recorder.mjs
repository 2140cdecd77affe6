// Records every module a Node process loads, for the start-up guard (issue #10): run a process with
// `node --import <this file>` and KSAIL_FLUXD_IMPORT_LOG=<file>; each loaded module's URL ends up in that file, one
// per line. ES modules are seen by a load hook (in the hooks thread, as they load); CommonJS modules, whose
// require()s bypass the hooks in Node 20, are read from the require cache when the process exits.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const file = process.env.KSAIL_FLUXD_IMPORT_LOG;
if (file) {
  const hooks = `
import { appendFileSync } from 'node:fs';
let file;
export const initialize = (data) => { file = data.file; };
export const load = (url, context, next) => { appendFileSync(file, url + '\\n'); return next(url, context); };
`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`, import.meta.url, { data: { file } });
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => {
    const urls = Object.keys(cache).map((path) => pathToFileURL(path).href);
    if (urls.length) appendFileSync(file, `${urls.join('\n')}\n`);
  });
}

/** The npm packages among `urls` (the last node_modules segment of each), with how many modules each loaded. */
export const packagesOf = (urls) => {
  const counts = new Map();
  for (const url of new Set(urls)) {
    const match = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (match) counts.set(match[1], (counts.get(match[1]) ?? 0) + 1);
  }
  return counts;
};
