/**
 * @module plugin name
 * The plugin's `type` (its binary's name in the CNI bin dir) and the default network name: what ipamd writes
 * into the conflist and what the CNI executable checks it was called as.
 */
export const PLUGIN_TYPE = 'vpc-ipam';
export const NETWORK_NAME = 'vpc-ipam';
