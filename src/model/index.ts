export * from './cluster-config.js';
export * from './duration.js';
export * from './flux-resources.js';
export * from './oci-artifact.js';
export * from './oci-registry.js';
export * from './reconciliation-request.js';
