/**
 * @module ec2 renderers
 * Sim model records as the XML fragments EC2 returns for them
 * (cloud-apis.md §1.3): NetworkInterface (DescribeNetworkInterfaces,
 * CreateNetworkInterface), the instance with its InstanceNetworkInterfaces
 * (DescribeInstances), Subnet, and InstanceTypeInfo.
 */
import type { Ec2InstanceLimits } from '../../limits/ec2-limits.js';
import type { SimInstanceLimits, SimInstanceView, SimInterface } from '../../sim/model.js';
import type { InstanceLimits, Subnet } from '../../types.js';
import { itemSet, leaf, node, tagSet } from './xml.js';

/** The account every emulated resource belongs to. */
export const EMULATOR_ACCOUNT_ID = '123456789012';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function groupSet(groups: string[]): string {
  return itemSet(
    'groupSet',
    groups.map((g) => leaf('groupId', g) + leaf('groupName', g)),
  );
}

function addressSets(nic: SimInterface): string {
  const ips = [
    leaf('privateIpAddress', nic.primaryIp) + leaf('primary', true),
    ...nic.privateIps.map((ip) => leaf('privateIpAddress', ip) + leaf('primary', false)),
  ];
  return (
    itemSet('privateIpAddressesSet', ips) +
    itemSet('ipv6AddressesSet', []) +
    itemSet(
      'ipv4PrefixSet',
      nic.prefixes.map((p) => leaf('ipv4Prefix', p)),
    )
  );
}

function attachmentXml(nic: SimInterface, full: boolean): string {
  const a = nic.attachment;
  if (!a) return '';
  return node(
    'attachment',
    leaf('attachmentId', a.id),
    full ? leaf('instanceId', a.instanceId) + leaf('instanceOwnerId', EMULATOR_ACCOUNT_ID) : '',
    leaf('deviceIndex', a.deviceIndex),
    leaf('networkCardIndex', a.networkCardIndex ?? 0),
    leaf('status', a.state ?? 'attached'), // attaching | attached | detaching, as EC2 reports a changing one
    leaf('attachTime', iso(a.attachedAt)),
    leaf('deleteOnTermination', a.deleteOnTermination),
  );
}

/** One `NetworkInterface` (inner elements, without the enclosing `<item>`/`<networkInterface>`). */
export function networkInterfaceXml(nic: SimInterface, statusOverride?: string): string {
  return (
    leaf('networkInterfaceId', nic.id) +
    leaf('subnetId', nic.subnetId) +
    leaf('vpcId', nic.vpcId) +
    leaf('availabilityZone', nic.zone) +
    leaf('description', nic.description) +
    leaf('ownerId', EMULATOR_ACCOUNT_ID) +
    leaf('requesterManaged', false) +
    leaf('status', statusOverride ?? nic.status) +
    leaf('macAddress', nic.mac) +
    leaf('privateIpAddress', nic.primaryIp) +
    leaf('sourceDestCheck', true) +
    leaf('interfaceType', nic.interfaceType ?? 'interface') +
    groupSet(nic.securityGroups) +
    attachmentXml(nic, true) +
    tagSet(nic.tags) +
    addressSets(nic)
  );
}

/** One instance of a reservation, with its attached interfaces (InstanceNetworkInterface). */
export function instanceXml(inst: SimInstanceView): string {
  const primary = inst.interfaces.find((n) => n.attachment?.deviceIndex === 0);
  const nics = inst.interfaces.map(
    (n) =>
      leaf('networkInterfaceId', n.id) +
      leaf('subnetId', n.subnetId) +
      leaf('vpcId', n.vpcId) +
      leaf('description', n.description) +
      leaf('ownerId', EMULATOR_ACCOUNT_ID) +
      leaf('status', n.status) +
      leaf('macAddress', n.mac) +
      leaf('privateIpAddress', n.primaryIp) +
      leaf('sourceDestCheck', true) +
      leaf('interfaceType', n.interfaceType ?? 'interface') +
      groupSet(n.securityGroups) +
      attachmentXml(n, false) +
      addressSets(n),
  );
  return (
    leaf('instanceId', inst.id) +
    leaf('imageId', 'ami-00000000000000000') +
    node('instanceState', leaf('code', 16), leaf('name', 'running')) +
    leaf('privateDnsName', primary ? `ip-${primary.primaryIp.replace(/\./g, '-')}.ec2.internal` : undefined) +
    leaf('instanceType', inst.instanceType) +
    leaf('launchTime', iso(inst.launchedAt)) +
    node('placement', leaf('availabilityZone', inst.zone), leaf('tenancy', 'default')) +
    leaf('subnetId', inst.subnetId) +
    leaf('vpcId', inst.vpcId) +
    leaf('privateIpAddress', primary?.primaryIp) +
    leaf('hypervisor', 'xen') + // DescribeInstances says "xen" even on Nitro; DescribeInstanceTypes tells them apart
    groupSet(inst.securityGroups) +
    tagSet(inst.tags) +
    itemSet('networkInterfaceSet', nics)
  );
}

export function subnetXml(s: Subnet): string {
  return (
    leaf('subnetId', s.id) +
    leaf('state', 'available') +
    leaf('vpcId', s.vpcId) +
    leaf('cidrBlock', s.cidr) +
    leaf('availableIpAddressCount', s.availableAddresses) +
    leaf('availabilityZone', s.zone) +
    leaf('defaultForAz', false) +
    leaf('mapPublicIpOnLaunch', false) +
    leaf('ownerId', EMULATOR_ACCOUNT_ID) +
    itemSet('ipv6CidrBlockAssociationSet', []) +
    tagSet(s.tags)
  );
}

/** Hypervisor as DescribeInstanceTypes reports it: the table's value, else inferred from prefix support. */
export function hypervisorOf(l: InstanceLimits): string {
  const e = l as Partial<Ec2InstanceLimits>;
  if (e.hypervisor !== undefined) return e.hypervisor ?? '';
  return l.supportsPrefixes ? 'nitro' : 'xen';
}

/**
 * InstanceTypeInfo as EC2 reports it, network cards included: `maximumNetworkInterfaces` is the instance's total,
 * `networkCards` gives each card's own limit (p4d.24xlarge: 60 = 4 × 15), and the default card is 0.
 */
export function instanceTypeXml(l: SimInstanceLimits): string {
  const e = l as Partial<Ec2InstanceLimits>;
  const hv = hypervisorOf(l);
  const cards = l.networkCards ?? 1;
  const perf = 'Up to 10 Gigabit';
  const card = (i: number) =>
    leaf('networkCardIndex', i) + leaf('networkPerformance', perf) + leaf('maximumNetworkInterfaces', l.maxInterfaces);
  return (
    leaf('instanceType', l.instanceType) +
    leaf('currentGeneration', true) +
    leaf('bareMetal', e.bareMetal ?? false) +
    (hv ? leaf('hypervisor', hv) : '') +
    node('vCpuInfo', leaf('defaultVCpus', e.vcpus ?? 2)) +
    node(
      'networkInfo',
      leaf('networkPerformance', perf),
      leaf('maximumNetworkInterfaces', l.maxInterfaces * cards),
      leaf('maximumNetworkCards', cards),
      leaf('defaultNetworkCardIndex', 0),
      itemSet(
        'networkCards',
        Array.from({ length: cards }, (_, i) => card(i)),
      ),
      leaf('ipv4AddressesPerInterface', l.ipv4PerInterface),
      leaf('ipv6AddressesPerInterface', l.ipv4PerInterface),
      leaf('ipv6Supported', true),
      leaf('enaSupport', 'required'),
      leaf('efaSupported', false),
    )
  );
}
