/**
 * @module gce emulator
 * A GCE Compute REST + metadata server emulator over the SimCloud model, for
 * tests, `npm start` (embedded) and `vpc-ipamctl emulate --provider gcp`.
 * See docs/gcp.md §Emulator.
 */
export { GceEmulator, DEFAULT_PROJECT, type GceEmulatorOptions, type RecordedRequest } from './server.js';
export { EMULATOR_ACCESS_TOKEN } from './metadata-api.js';
export { GceView, numericId, regionOf, type GceNode, type GceProject } from './gce-view.js';
export { NicFingerprints, type FingerprintMode } from './fingerprints.js';
export {
  GCE_ALIASES_PER_NETWORK_QUOTA,
  GCE_MAX_ALIAS_RANGES_PER_NIC,
  GCE_RESERVED,
  GCE_SEED_DEFAULTS,
  gceMachineType,
  newGceCloud,
  seedGceNode,
  type GceSeedOptions,
} from './seed.js';
export { GCE_OPERATION_DEFAULTS, type OperationTiming } from './operations.js';
export type { AliasLimits } from './update-nic.js';
export { startEmulatedGceNode, type EmulatedGceNode, type EmulatedGceNodeOptions } from './node.js';
