/**
 * Test helper: a cloud network interface as a provider returns it, with its blocks given as CIDRs (a /32 is a
 * secondary IP, anything else a prefix), so a test states only the interface's id, slot and addresses.
 */
import type { NetworkInterface } from '../../providers/types.js';

export function networkInterface(
  id: string,
  deviceIndex: number,
  cidrs: string[],
  extra: Partial<NetworkInterface> = {},
): NetworkInterface {
  return {
    id,
    deviceIndex,
    mac: `02:00:00:00:00:${deviceIndex.toString(16).padStart(2, '0')}`,
    subnetId: 'subnet-1',
    subnetCidr: '10.0.0.0/16',
    primaryIp: `10.0.${deviceIndex}.1`,
    securityGroups: [],
    blocks: cidrs.map((cidr) => ({ cidr, kind: cidr.endsWith('/32') ? 'ip' : 'prefix' })),
    tags: {},
    ...extra,
  };
}
