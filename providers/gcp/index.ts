/**
 * @module gcp
 * The GCP provider: Pod addresses are alias IP ranges on nic0 from the
 * subnetwork's Pods secondary range. Importing this module does not load
 * the Compute SDK; {@link createGcpProvider} does. See docs/gcp.md.
 */
export { createGcpProvider, type GcpSettings } from './create.js';
export { GcpProvider, type GcpProviderOptions } from './provider.js';
export {
  createComputeApi,
  type ComputeApi,
  type ComputeEndpoint,
  type ComputeOptions,
  type ComputeTarget,
} from './compute.js';
export { GceMetadataClient, type GceIdentity } from './metadata.js';
export { mapGcpError, operationError } from './errors.js';
export { isPoolRange, rangeUsage, type PoolRangePolicy } from './ranges.js';
export type { AliasRange, GcpClock, GceInstance, GceOperation, GceSubnetwork } from './types.js';
