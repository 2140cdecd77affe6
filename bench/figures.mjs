// The figures of one bench run, for `npm run bench -- --json FILE` (issue #10): every section records what it
// prints as numbers, so that runs can be compared by a program. One collector per process.
import { writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';

const figures = [];

/**
 * Records one figure of `section`: `name` (what was measured), `value` in `unit`, and when there is one, the
 * `target` it is held to and whether it was `met`. Returns `value`, so that it can wrap an expression.
 */
export const figure = (section, name, value, unit, { target, met, ...extra } = {}) => {
  figures.push({
    section,
    name,
    value: typeof value === 'number' ? Number(value.toFixed(3)) : value,
    unit,
    ...(target !== undefined ? { target } : {}),
    ...(met !== undefined ? { met } : {}),
    ...extra,
  });
  return value;
};

/** Writes every figure so far, with what the run ran on, to `file` as one JSON document. */
export const writeFigures = async (file, { sections, startedAt }) => {
  const document = {
    startedAt,
    finishedAt: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    loadAverage: loadavg(),
    sections,
    figures,
  };
  await writeFile(file, `${JSON.stringify(document, null, 2)}\n`);
};
