/**
 * @module azure
 * The Azure adapter (`VPC_IPAM_PROVIDER=azure`): {@link AzureProvider} over
 * `@azure/arm-network` and IMDS, its settings, credential and error mapping.
 * The emulator lives in `./emulator/`. See docs/azure.md.
 */
export { AzureProvider, succeededBlocks, type AzureProviderOptions } from './azure-provider.js';
export { AZURE_IPCONFIGS_PER_NIC, IPCONFIG_PREFIX } from './ip-config-writer.js';
export { parseAzureSettings, type AzureSettings } from './config.js';
export { StaticTestCredential, isLoopbackUrl, loopbackBearerPolicy } from './credential.js';
export { mapAzureError, retryAfterMs, type LroFailure } from './errors.js';
export { readImdsInstance, type ImdsInstance } from './imds.js';
export { MAX_POLL_WAIT_MS, nextPollWaitMs, waitForOperation } from './lro-wait.js';
export { POD_NIC_TAG, choosePodNic } from './pod-nic.js';
export { AZURE_RESERVED_PER_SUBNET, reservedCidrs, subnetUsable } from './subnet-math.js';
