import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { removeLabelled, startTestRegistry } from './test-registry.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `127.0.0.1:<port>` of the shared real registry; each test uses its own repository in it. */
    registryEndpoint: string;
    registryKind: 'docker' | 'process';
  }
}

/** Starts one real registry for the integration project and removes everything labelled afterwards. */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  await removeLabelled();
  const registry = await startTestRegistry();
  project.provide('registryEndpoint', registry.endpoint);
  project.provide('registryKind', registry.kind);
  return async () => {
    await Promise.allSettled([registry.close()]);
    await removeLabelled();
  };
}
