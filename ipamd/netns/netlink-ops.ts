/**
 * @module netlink operations (ipamd's import path)
 * The helpers live in the contract (cni/contract/netlink-ops.ts) because the host-side teardown they serve is
 * shared with the CNI plugin's offline DEL, and the plugin may import nothing of ipamd.
 */
export * from '../../cni/contract/netlink-ops.js';
