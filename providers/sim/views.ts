/**
 * @module sim views
 * How sim records look through the neutral {@link CloudProvider} types: the
 * SimProvider's answers, built from deep copies of the model.
 */
import type { AddressBlock, InstanceLimits, NetworkInterface } from '../types.js';
import type { SimInterface } from './model.js';

/** The neutral view of an attached sim interface. */
export function toNetworkInterface(nic: SimInterface, subnetCidr: string): NetworkInterface {
  const blocks: AddressBlock[] = [
    ...nic.privateIps.map((ip): AddressBlock => ({ cidr: `${ip}/32`, kind: 'ip' })),
    ...nic.prefixes.map((p): AddressBlock => ({ cidr: p, kind: 'prefix' })),
  ];
  return {
    id: nic.id,
    deviceIndex: nic.attachment?.deviceIndex ?? -1,
    mac: nic.mac,
    subnetId: nic.subnetId,
    subnetCidr,
    primaryIp: nic.primaryIp,
    securityGroups: [...nic.securityGroups],
    blocks,
    tags: { ...nic.tags },
  };
}

/** Only the neutral limits (an EC2 table entry carries more, such as its card count). */
export function neutralLimits(l: InstanceLimits): InstanceLimits {
  return {
    instanceType: l.instanceType,
    maxInterfaces: l.maxInterfaces,
    ipv4PerInterface: l.ipv4PerInterface,
    supportsIps: l.supportsIps,
    supportsPrefixes: l.supportsPrefixes,
    prefixLength: l.prefixLength,
    canCreateInterfaces: l.canCreateInterfaces,
  };
}
