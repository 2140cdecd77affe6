import { CORE_SCHEMA, loadAll, type EventType, type State } from 'js-yaml';
import type { Role } from './manifest-check.js';

/*
 * The `yaml` package gives the exact problems with positions but parses about 3 MB/s, which made a cold build of a
 * large source take seconds. js-yaml parses an order of magnitude faster but has no positions and is more lenient
 * than `yaml` in corner cases. So js-yaml only ever answers "certainly valid"; every other file goes to the exact
 * check (`checkYaml`), whose result is the one reported. The rules below send to the exact check every construct
 * where the two parsers were seen to disagree (differential fuzzing) or where `yaml`'s node-level checks could see
 * something other than js-yaml's plain values.
 */

/**
 * Text where js-yaml was seen to accept what `yaml` rejects, or to read differently, each with a character it
 * needs: the regex runs only when that character is in the text (most manifests have none of them).
 */
const DIVERGENT_TEXT: readonly [needs: string, pattern: RegExp][] = [
  // Tabs in a line's leading white space (js-yaml is laxer there), lone CR line breaks.
  ['\t', /^ *\t/m],
  ['\r', /\r(?!\n)/],
  // Explicit keys: js-yaml turns collection keys into strings ("[kind]" becomes "kind").
  ['?', /(?:^|[\s,[{])\?(?:\s|$)/m],
  // Flow collections as implicit keys, same reason.
  [']', /\][ \t]*:/],
  ['}', /\}[ \t]*:/],
  // 8-digit escapes: js-yaml accepts code points past U+10FFFF.
  ['\\U', /\\U/],
  // Directives: `%YAML 1.1` gives `yaml` another schema (yes/no booleans, merge keys).
  ['%', /^%/m],
  // Comments not separated by white space.
  ['#', /[,[{:]#/],
  // A sequence entry with nothing after its `-`: js-yaml then accepts the next entries at any indentation.
  ['-', /(?:^|[ ])-[ ]*(?:\r?$|#)/m],
  // Content after a document marker.
  ['--', /^---(?:\S|[ \t]+[^\s#])/m],
  ['..', /^\.\.\.(?:\S|[ \t]+[^\s#])/m],
];

const hasDivergentText = (text: string): boolean =>
  DIVERGENT_TEXT.some(([needs, pattern]) => text.includes(needs) && pattern.test(text));

/** Plain scalars that YAML 1.2 core resolves to null, a boolean or a number (the `yaml` package's core tags). */
const CORE_NON_STRING =
  /^(?:~|[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)$/;

/** Whether a string can match CORE_NON_STRING, by its first character; the regex runs only on these. */
const NON_STRING_START = new Uint8Array(128);
for (const c of '~nNtTfF0123456789+-.') NON_STRING_START[c.charCodeAt(0)] = 1;

class Divergent extends Error {}

const lineIndent = (text: string, lineStart: number): number => {
  let i = lineStart;
  while (text.charCodeAt(i) === 0x20) i++;
  return i;
};

/**
 * A quoted scalar or flow collection that spans lines, from `start` (its first character) to `end` (after its last).
 * `yaml` wants its continuation lines indented past the block collection it is in, a closing bracket at least at
 * that collection's column, and nothing but a comment or flow punctuation after it; js-yaml checks none of that.
 * Conservative: the column compared with is the first token of the line after any `- `.
 */
const checkMultiline = (text: string, start: number, end: number, isFlow: boolean): void => {
  const firstBreak = text.indexOf('\n', start);
  if (firstBreak === -1 || firstBreak >= end) return;
  let after = end;
  while (text.charCodeAt(after) === 0x20) after++;
  const next = text[after];
  const endsWell =
    next === undefined ||
    next === '\n' ||
    next === '\r' ||
    next === ',' ||
    next === ']' ||
    next === '}' ||
    (next === '#' && after > end);
  if (!endsWell) throw new Divergent();
  const lineStart = text.lastIndexOf('\n', start) + 1;
  let token = lineIndent(text, lineStart);
  while (text[token] === '-' && (text[token + 1] === ' ' || text[token + 1] === '\t')) {
    token++;
    while (text[token] === ' ' || text[token] === '\t') token++;
  }
  const column = token - lineStart;
  for (let line = firstBreak + 1; line < end;) {
    const first = lineIndent(text, line);
    const c = text[first];
    const blank = c === '\n' || c === '\r' || c === undefined;
    const closing = isFlow && first === end - 1 && first - line >= column;
    if (!blank && !closing && first - line <= column) throw new Divergent();
    const lineEnd = text.indexOf('\n', line);
    if (lineEnd === -1) break;
    line = lineEnd + 1;
  }
};

/** A little under `yaml`'s 1024-character limit on implicit keys, so that no key near it slips through. */
const LONG_KEY = 1000;

/** Where the `:` after the node that ends at `end` is, if it is a key; -1 otherwise. */
const keyColon = (text: string, end: number): number => {
  let after = end;
  while (text.charCodeAt(after) === 0x20 || text.charCodeAt(after) === 0x09) after++;
  return text[after] === ':' ? after : -1;
};

/** Follows js-yaml's node events and throws Divergent on a node `yaml` could read differently. */
const divergenceListener = (text: string): ((event: EventType, state: State) => void) => {
  const starts: number[] = [];
  return (event, state) => {
    if (event === 'open') {
      starts.push(state.position);
      return;
    }
    // A node's events span the separation before it (spaces, line breaks, comments); find its first character.
    let at = starts.pop() ?? 0;
    let comment = false;
    for (;;) {
      const c = text.charCodeAt(at);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) at++;
      else if (c === 0x23) {
        comment = true;
        const lineEnd = text.indexOf('\n', at);
        at = lineEnd === -1 ? text.length : lineEnd;
      } else break;
    }
    const first = text[at];
    // Anchors and tags; aliases, where `yaml`'s checks see the alias node, not the value js-yaml copies in.
    if (first === '&' || first === '!' || first === '*') throw new Divergent();
    // `yaml` rejects implicit keys over 1024 characters; js-yaml has no limit.
    const end = state.position;
    if (end - at > LONG_KEY || text.charCodeAt(end) === 0x20) {
      if (keyColon(text, end) - at > LONG_KEY) throw new Divergent();
    }
    const kind = state.kind;
    if (kind === 'scalar') {
      if (first === '"' || first === "'") {
        if (text[end] === '#') throw new Divergent();
        checkMultiline(text, at, end, false);
      } else if (first !== '|' && first !== '>') {
        // A plain scalar after a comment line: `yaml` misreads some as a multi-line key.
        if (comment) throw new Divergent();
        const value: unknown = state.result;
        if (
          typeof value === 'string' &&
          NON_STRING_START[value.charCodeAt(0)] === 1 &&
          CORE_NON_STRING.test(value)
        )
          throw new Divergent();
      }
    } else if ((first === '[' && kind === 'sequence') || (first === '{' && kind === 'mapping')) {
      if (text[end] === '#') throw new Divergent();
      checkMultiline(text, at, end, true);
    }
  };
};

const isText = (value: unknown): value is string => typeof value === 'string' && value !== '';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The Kubernetes object rules of `checkYaml`, on one js-yaml document. */
const passesObjectChecks = (doc: unknown): boolean => {
  if (doc === null || doc === undefined) return true;
  if (!isRecord(doc) || !isText(doc.apiVersion) || !isText(doc.kind)) return false;
  if (doc.kind.endsWith('List')) return true;
  return isRecord(doc.metadata) && isText(doc.metadata.name);
};

/**
 * True only when `checkYaml(text, role)` certainly finds no problem; false means "run checkYaml". Kustomizations
 * are not handled here: their references need `yaml`'s positions anyway. `documents`, when given, receives js-yaml's
 * value of each document (meaningful only when the answer is true), so the namespace check needs no second parse.
 */
export const quickYamlCheck = (
  text: string,
  role: Exclude<Role, 'kustomization'>,
  documents?: unknown[],
): boolean => {
  // js-yaml drops a leading byte order mark, `yaml` does not (decodeText already removed one).
  if (text.charCodeAt(0) === 0xfeff || hasDivergentText(text)) return false;
  let valid = true;
  try {
    loadAll(
      text,
      (doc) => {
        if (role === 'object' && valid) valid = passesObjectChecks(doc);
        documents?.push(doc);
      },
      { schema: CORE_SCHEMA, listener: divergenceListener(text) },
    );
  } catch {
    // A syntax error, or a construct the two parsers may read differently.
    return false;
  }
  return valid;
};
