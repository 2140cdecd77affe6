import type { ResolvedConfig, ResolvedSource } from '../config/schema.js';
import { KsailError } from '../errors.js';
import { closest } from '../config/suggest.js';
import type { Logger } from '../logger.js';
import { registryEndpoint } from '../model/oci-registry.js';
import type { RegistryClient } from '../registry/client/client.js';
import type { CommandContext } from './context.js';

/** The sources a command names, or all of them; unknown names are usage errors with a suggestion. */
export const selectSources = (config: ResolvedConfig, names: readonly string[]): ResolvedSource[] => {
  if (config.sources.length === 0) {
    throw new KsailError(
      'config-invalid',
      `no sources are configured${config.file ? ` in ${config.file}` : ' (no ksail-fluxd.yaml found)'}; add a "sources" list (see config/ksail-fluxd.example.yaml)`,
    );
  }
  if (names.length === 0) return config.sources;
  const known = config.sources.map((source) => source.name);
  return names.map((name) => {
    const source = config.sources.find((candidate) => candidate.name === name);
    if (!source) {
      const suggestion = closest(name, known);
      throw new KsailError(
        'usage',
        `unknown source "${name}"${suggestion ? `; did you mean "${suggestion}"?` : ''} (configured: ${known.join(', ')})`,
      );
    }
    return source;
  });
};

/** A client for the configured registry at its workstation endpoint (data model: `localhost:<port>`). */
export const registryClientFor = async (
  config: ResolvedConfig,
  context: Pick<CommandContext, 'clock'>,
  logger: Logger,
): Promise<RegistryClient> => {
  // Loaded on use: registering the commands (for --help) needs no response schemas (issue #10).
  const { createRegistryClient } = await import('../registry/client/client.js');
  return createRegistryClient({
    endpoint: registryEndpoint(config.registryPort),
    clock: context.clock,
    logger,
  });
};

const UNITS = ['B', 'KiB', 'MiB', 'GiB'];
export const formatBytes = (bytes: number): string => {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${UNITS[unit]}`;
};

/** "1 file", "2 files": a count with its noun in the right number. */
export const plural = (count: number, noun: string, nouns = `${noun}s`): string =>
  `${count} ${count === 1 ? noun : nouns}`;

export const shortDigest = (digest: string | undefined): string => (digest ? digest.slice(0, 19) : '-');
