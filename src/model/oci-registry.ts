import { KsailError } from '../errors.js';

/** OCIRegistry (data model): the local `registry:3` instance bound to localhost. */
export type RegistryStatus = 'NotProvisioned' | 'Provisioning' | 'Running' | 'Error';

export type RegistryStorage = { kind: 'volume'; volumeName: string } | { kind: 'path'; dataPath: string };

export interface OCIRegistry {
  name: string;
  /** Workstation endpoint; the data model requires `localhost:<port>`. */
  endpoint: string;
  /** Endpoint that pods use: `<container>:5000` on a cluster network, else the workstation endpoint (FR-004). */
  inClusterEndpoint: string;
  port: number;
  storage: RegistryStorage;
  status: RegistryStatus;
  lastError?: string;
}

const ENDPOINT_PATTERN = /^localhost:(\d{1,5})$/;

export const isValidPort = (port: number): boolean => Number.isInteger(port) && port >= 1 && port <= 65535;

/** Data model rule: `OCIRegistry.Endpoint` MUST be `localhost:<port>`. */
export const validateRegistryEndpoint = (endpoint: string): number => {
  const match = ENDPOINT_PATTERN.exec(endpoint);
  const port = match ? Number(match[1]) : NaN;
  if (!match || !isValidPort(port)) {
    throw new KsailError(
      'model-invalid',
      `registry endpoint "${endpoint}" must be localhost:<port> with a port from 1 to 65535, for example localhost:5000`,
    );
  }
  return port;
};

export const registryEndpoint = (port: number): string => {
  const endpoint = `localhost:${port}`;
  validateRegistryEndpoint(endpoint);
  return endpoint;
};

/** In-cluster endpoint (FR-004): pods cannot reach the host's localhost, so a cluster network uses the container name. */
export const inClusterEndpoint = (options: {
  containerName: string;
  port: number;
  network?: string | undefined;
}): string => (options.network ? `${options.containerName}:5000` : registryEndpoint(options.port));
