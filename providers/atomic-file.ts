/**
 * @module atomic file (the seam's import path)
 * The recipe lives in the contract (cni/contract/atomic-file.ts), because the CNI plugin's pending-release
 * writer uses it and the contract may import nothing of ours; providers and ipamd keep importing it from here.
 */
export { fsyncDirSync, writeFileAtomicSync } from '../cni/contract/atomic-file.js';
