/**
 * Where a JSON text first goes wrong. Node 20's JSON.parse errors carry no position, so after JSON.parse fails
 * this strict scanner finds the offset for the `file:line:column` message. Never on the success path.
 */
export interface JsonSyntaxError {
  offset: number;
  message: string;
}

class Stop extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

export const locateJsonError = (text: string): JsonSyntaxError | undefined => {
  let i = 0;
  const fail = (message: string): never => {
    throw new Stop(i, message);
  };
  const describe = (): string =>
    i >= text.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(text[i])}`;
  const space = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i++;
  };
  const string = (): void => {
    i++;
    for (;;) {
      const c = text[i];
      if (c === undefined) fail('unterminated string');
      else if (c === '"') {
        i++;
        return;
      } else if (c === '\\') {
        const next = text[i + 1] ?? '';
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('invalid \\u escape in string');
          i += 6;
        } else if (ESCAPES.has(next)) i += 2;
        else fail('invalid escape in string');
      } else if (c < ' ') fail('control character in string; escape it');
      else i++;
    }
  };
  /** An object or array: members separated by ",", up to `close`; an empty one is allowed. */
  const container = (close: '}' | ']', member: () => void): void => {
    i++;
    space();
    if (text[i] === close) {
      i++;
      return;
    }
    for (;;) {
      member();
      space();
      if (text[i] === ',') i++;
      else if (text[i] === close) {
        i++;
        return;
      } else fail(`${describe()}, expected "," or "${close}"`);
    }
  };
  const property = (): void => {
    space();
    if (text[i] !== '"') fail(`${describe()}, expected a "quoted" key`);
    string();
    space();
    if (text[i] !== ':') fail(`${describe()}, expected ":"`);
    i++;
    value();
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{') container('}', property);
    else if (c === '[') container(']', value);
    else if (c === '"') string();
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) fail('invalid number');
      i = NUMBER.lastIndex;
    } else {
      const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, i));
      if (literal === undefined) fail(`${describe()}, expected a value`);
      else i += literal.length;
    }
  };
  try {
    value();
    space();
    if (i < text.length) fail(`${describe()} after the JSON value`);
    return undefined;
  } catch (error) {
    if (error instanceof Stop) return { offset: error.offset, message: error.message };
    // Nesting deeper than the stack: leave the position to the caller's fallback.
    if (error instanceof RangeError) return undefined;
    throw error;
  }
};
