import { describe, expect, it } from 'vitest';
import { checkYaml } from '../../../src/artifact/manifest-check.js';
import { summarizeDocuments, summarizeValues } from '../../../src/artifact/namespace-check.js';
import { quickYamlCheck } from '../../../src/artifact/quick-check.js';
import { VALID } from './yaml-corpus.js';

/**
 * Differential fuzzing, deterministic and bounded: small random edits of real-world manifests (the kind a user
 * makes mid-save) must never get past the fast check while the exact check reports a problem. This is how the
 * divergences in yaml-corpus.ts were found; a longer run with other seeds is a good idea after upgrading js-yaml
 * or yaml.
 */

const TOKENS = [
  ...[':', ' ', '-', '[', ']', '{', '}', '#', "'", '"', '\n', '\t', '?', ',', '|', '>', '&', '*', '!', '%'],
  ...['...', '---', '\\', ': ', '- ', '  ', 'x', '\r', '<<', '0', '1e400', '~', 'true', '""', '- -', '-\n'],
  ...['\n  ', '\n ', '"\n', '[\n', '\r\n', ' #', '|-\n', '\ufeff', '\u2028', 'kind', 'name', 'metadata:'],
];

const random = (seed: number): ((below: number) => number) => {
  let state = seed >>> 0;
  return (below) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state >>> 8) % below;
  };
};

const mutate = (text: string, next: (below: number) => number): string => {
  let out = text;
  for (let edits = 1 + next(4); edits > 0; edits--) {
    const at = next(out.length + 1);
    const lines = out.split('\n');
    const line = next(lines.length);
    switch (next(5)) {
      case 0:
      case 1:
        out = out.slice(0, at) + (TOKENS[next(TOKENS.length)] ?? '') + out.slice(at);
        break;
      case 2:
        out = out.slice(0, at) + out.slice(at + 1 + next(3));
        break;
      case 3: {
        const current = lines[line] ?? '';
        const indent = current.length - current.trimStart().length;
        lines[line] = ' '.repeat(Math.max(0, indent + next(5) - 2)) + current.trimStart();
        out = lines.join('\n');
        break;
      }
      default:
        lines.splice(next(lines.length), 0, lines[line] ?? '');
        out = lines.join('\n');
    }
  }
  return out;
};

describe('quickYamlCheck against the exact check', () => {
  it('lets no mutated manifest through that the exact check rejects', () => {
    const next = random(20_240_611);
    const seeds = Object.values(VALID);
    const slipped: string[] = [];
    const misread: string[] = [];
    let fast = 0;
    let rejected = 0;
    for (let i = 0; i < 600; i++) {
      const text = mutate(seeds[next(seeds.length)] ?? '', next);
      for (const role of ['object', 'non-object'] as const) {
        const documents: unknown[] = [];
        const quick = quickYamlCheck(text, role, documents);
        const exact = checkYaml(text, role);
        if (quick) fast++;
        if (exact.problems.length > 0) rejected++;
        if (quick && exact.problems.length > 0) slipped.push(`${role}: ${JSON.stringify(text)}`);
        // The namespace check reads js-yaml's values on the fast path: they must be the objects `yaml` reads.
        const same =
          JSON.stringify(summarizeValues(documents)) === JSON.stringify(summarizeDocuments(exact.documents));
        if (quick && role === 'object' && !same) misread.push(JSON.stringify(text));
      }
    }
    expect(slipped).toEqual([]);
    expect(misread).toEqual([]);
    // Not vacuous: many edits keep the file valid and take the fast path, many break it.
    expect(fast).toBeGreaterThan(200);
    expect(rejected).toBeGreaterThan(200);
  });
});
