/**
 * @module azure emulator
 * A local Azure (ARM Microsoft.Network + IMDS) over the SimCloud model, for
 * tests, `vpc-ipamctl emulate --provider azure` and the daemon's embedded
 * mode. {@link openAzureWorld} keeps the world in a file across restarts.
 */
export { ArmError } from './arm-error.js';
export {
  AZURE_ERROR_CODES,
  AZURE_MAX_IPCONFIGS,
  AzureWorld,
  TAG,
  azureVmSizeLimits,
  type AzureScope,
  type IpcRecord,
} from './azure-world.js';
export {
  EMULATED_VM_NAME,
  startEmulatedAzureNode,
  type EmulatedAzureNode,
  type EmulatedAzureNodeOptions,
} from './node.js';
export { checkIfMatch, etagHeader, newEtag } from './etag.js';
export { IMDS_API_VERSIONS, IMDS_BAD_VERSION } from './imds-route.js';
export {
  NicOperations,
  REALISTIC_LRO,
  type LroMode,
  type OperationOptions,
  type OperationRecord,
} from './operations.js';
export { NIC_SET_CODE } from './vm-views.js';
export { AZURE_DEFAULTS, seedAzureNode, type AzureSeedOptions } from './seed.js';
export {
  AZURE_ACTIONS,
  startAzureEmulator,
  type AzureAction,
  type AzureEmulator,
  type AzureEmulatorOptions,
  type RequestLogEntry,
} from './server.js';
export { DEFAULT_SCOPE, openAzureWorld, seededWorld } from './world-file.js';
