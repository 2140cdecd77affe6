import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commands } from '../../../src/cli/commands.js';
import type { CommandContext } from '../../../src/cli/context.js';

const srcDir = join(import.meta.dirname, '../../../src');

const sourceFiles = async (dir: string): Promise<string[]> => {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith('.ts')) files.push(path);
  }
  return files;
};

/** Issue 9, §2: an error told users to run "ksail-fluxd sources", which does not exist. */
describe('commands named in messages', () => {
  it('every "ksail-fluxd <command>" a message names exists', async () => {
    const program = new Command();
    for (const register of commands) register(program, {} as CommandContext);
    const existing = new Set(program.commands.map((command) => command.name()));
    const named: string[] = [];
    for (const file of await sourceFiles(srcDir)) {
      const text = await readFile(file, 'utf8');
      // Quoted or in parentheses, as messages give a command to run (prose such as 'ksail-fluxd daemon is not running' is not).
      for (const [, name] of text.matchAll(/["(`]ksail-fluxd ([a-z][a-z-]*)/g)) {
        if (name && name !== 'daemon') named.push(`${name} (${file.slice(srcDir.length + 1)})`);
      }
    }
    expect(named.length).toBeGreaterThan(10);
    const missing = named.filter((entry) => !existing.has(entry.split(' ')[0] ?? ''));
    expect(missing).toEqual([]);
  });
});
