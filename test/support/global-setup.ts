import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { removeStaleShared, SHARED_LABEL, startTestRegistry } from './test-registry.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `127.0.0.1:<port>` of the shared real registry; each test uses its own repository in it. */
    registryEndpoint: string;
    registryKind: 'docker' | 'process';
  }
}

/**
 * Starts one real registry for the integration project and removes it afterwards. Tests remove their own
 * containers by TEST_LABEL; the shared registry has its own label so that they never remove it.
 */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  await removeStaleShared();
  const registry = await startTestRegistry({ label: `${SHARED_LABEL}=${process.pid}` });
  project.provide('registryEndpoint', registry.endpoint);
  project.provide('registryKind', registry.kind);
  return async () => {
    await Promise.allSettled([registry.close()]);
  };
}
