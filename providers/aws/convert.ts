/**
 * @module aws conversions
 * SDK shapes → the neutral types of `providers/types.ts`. Nothing outside
 * `providers/aws/` sees an SDK type.
 */
import type { InstanceTypeInfo, NetworkInterface as Ec2Interface, Subnet as Ec2Subnet, Tag } from '@aws-sdk/client-ec2';
import { Address4 } from 'ip-address';
import { CloudUnavailableError } from '../errors.js';
import { EC2_PREFIX_LENGTH } from '../limits/ec2-limits.js';
import type { AddressBlock, InstanceLimits, NetworkInterface, Subnet } from '../types.js';

export function tagMap(tags: Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

function malformed(what: string): CloudUnavailableError {
  return new CloudUnavailableError({
    provider: 'aws',
    operation: 'parse',
    cloudCode: 'MalformedResponse',
    message: `EC2 response without ${what}`,
  });
}

/** Secondary /32s (primary excluded) then /28 prefixes, as AddressBlocks. */
export function blocksOf(n: Ec2Interface): AddressBlock[] {
  const ips = (n.PrivateIpAddresses ?? [])
    .filter((a) => !a.Primary && a.PrivateIpAddress)
    .map((a): AddressBlock => ({ cidr: `${a.PrivateIpAddress}/32`, kind: 'ip' }));
  const prefixes = (n.Ipv4Prefixes ?? [])
    .filter((p) => p.Ipv4Prefix)
    .map((p): AddressBlock => ({ cidr: p.Ipv4Prefix!, kind: 'prefix' }));
  return [...ips, ...prefixes];
}

export function toNetworkInterface(n: Ec2Interface, subnetCidr: string, deviceIndex?: number): NetworkInterface {
  // An `efa-only` ENI has no IPv4 address at all (the VPC CNI's DescribeAllENIs allows exactly that type
  // to lack one): it is not malformed, it is excluded (eni-exclusion.ts), with an empty primaryIp.
  const ipless = n.InterfaceType === 'efa-only';
  if (!n.NetworkInterfaceId || !n.SubnetId || (!n.PrivateIpAddress && !ipless)) {
    throw malformed('NetworkInterfaceId/SubnetId/PrivateIpAddress');
  }
  return {
    id: n.NetworkInterfaceId,
    deviceIndex: deviceIndex ?? n.Attachment?.DeviceIndex ?? -1,
    mac: n.MacAddress ?? '',
    subnetId: n.SubnetId,
    subnetCidr,
    primaryIp: n.PrivateIpAddress ?? '',
    securityGroups: (n.Groups ?? []).map((g) => g.GroupId ?? '').filter(Boolean),
    blocks: blocksOf(n),
    tags: tagMap(n.TagSet),
  };
}

export function toSubnet(s: Ec2Subnet): Subnet {
  if (!s.SubnetId || !s.CidrBlock) throw malformed('SubnetId/CidrBlock');
  return {
    id: s.SubnetId,
    cidr: s.CidrBlock,
    zone: s.AvailabilityZone ?? '',
    vpcId: s.VpcId ?? '',
    availableAddresses: s.AvailableIpAddressCount ?? 0,
    tags: tagMap(s.Tags),
  };
}

/**
 * Limits from DescribeInstanceTypes, as the VPC CNI's generator computes
 * them: the default network card's interface count, and prefixes only on
 * Nitro or bare metal.
 */
export function toInstanceLimits(t: InstanceTypeInfo): InstanceLimits {
  const net = t.NetworkInfo;
  if (!t.InstanceType || !net?.Ipv4AddressesPerInterface) throw malformed('InstanceType/NetworkInfo');
  const defaultCard = net.NetworkCards?.find((c) => c.NetworkCardIndex === (net.DefaultNetworkCardIndex ?? 0));
  return {
    instanceType: t.InstanceType,
    maxInterfaces: defaultCard?.MaximumNetworkInterfaces ?? net.MaximumNetworkInterfaces ?? 1,
    ipv4PerInterface: net.Ipv4AddressesPerInterface,
    supportsIps: true,
    supportsPrefixes: t.Hypervisor === 'nitro' || t.BareMetal === true,
    prefixLength: EC2_PREFIX_LENGTH,
    canCreateInterfaces: true,
  };
}

/** EC2's reserved addresses of a subnet: the first four and the last (cloud-apis.md §1.6). */
export function reservedCidrs(cidr: string): string[] {
  const a = new Address4(cidr);
  const start = a.startAddress().bigInt();
  const end = a.endAddress().bigInt();
  return [start, start + 1n, start + 2n, start + 3n, end].map((n) => `${Address4.fromBigInt(n).address}/32`);
}
