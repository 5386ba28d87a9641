/**
 * @module gce view
 * How the emulator shows sim records as GCE resources: names (from `Name`
 * tags, else the sim id), numeric ids, URLs, and the JSON bodies of an
 * instance, a subnetwork and nic0 (cloud-apis.md §5.3). Nothing here changes
 * the cloud. NIC fingerprints come from {@link NicFingerprints}, one book per
 * emulator (see fingerprints.ts for why each update issues a new one).
 */
import { createHash } from 'node:crypto';
import { parseBlock, ipOf } from '../../sim/addr.js';
import type { SimCloud, SimInstanceView, SimInterface, SimSecondaryRange } from '../../sim/index.js';
import type { Subnet } from '../../types.js';
import { NicFingerprints } from './fingerprints.js';

export const COMPUTE_BASE = 'https://www.googleapis.com/compute/v1';

export interface GceProject {
  project: string;
  /** The project number the metadata server shows in `zone`, `network`, `machine-type`. */
  projectNumber: string;
}

export function regionOf(zone: string): string {
  return zone.replace(/-[a-z]$/, '');
}

export function nameOf(rec: { id: string; tags: Record<string, string> }): string {
  return rec.tags.Name ?? rec.id;
}

/** A stable 19-digit id from a sim id (`i-…0005` → `1000000000000000005`). */
export function numericId(simId: string): string {
  const hex = simId.slice(simId.lastIndexOf('-') + 1);
  return (10n ** 18n + BigInt(`0x${hex}`)).toString();
}

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('base64').slice(0, 12);
}

/** Dotted netmask of a prefix length (metadata `subnetmask`). */
export function netmaskOf(prefixLength: number): string {
  return ipOf(prefixLength === 0 ? 0n : ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - prefixLength)) - 1n));
}

/** Second address of a primary range: GCE's default gateway. */
export function gatewayOf(cidr: string): string {
  return ipOf(parseBlock(cidr)!.start + 1n);
}

/** GCE's view of one node: its records and everything a response needs. */
export interface GceNode {
  instance: SimInstanceView;
  nic: SimInterface;
  name: string;
  zone: string;
  region: string;
  subnet: Subnet;
  subnetName: string;
  networkName: string;
  ranges: SimSecondaryRange[];
}

type SubnetworkView = { subnet: Subnet; ranges: SimSecondaryRange[]; networkName: string };

export class GceView {
  constructor(
    readonly cloud: SimCloud,
    readonly p: GceProject,
    readonly fingerprints = new NicFingerprints(),
  ) {}

  /** nic0's fingerprint as `instances.get` shows it now. */
  fingerprint(nic: SimInterface): string {
    return this.fingerprints.of(nic);
  }

  /** Every node the emulator serves: sim instances with an interface at device index 0. */
  nodes(): GceNode[] {
    return this.cloud.describeInstances().flatMap((inst) => {
      const nic = inst.interfaces.find((n) => n.attachment?.deviceIndex === 0);
      if (!nic) return [];
      const subnet = this.cloud.getSubnet(nic.subnetId);
      return [
        {
          instance: inst,
          nic,
          name: nameOf(inst),
          zone: inst.zone,
          region: regionOf(inst.zone),
          subnet,
          subnetName: nameOf(subnet),
          networkName: nameOf(this.cloud.getVpc(subnet.vpcId)),
          ranges: this.cloud.describeSecondaryRanges(subnet.id),
        },
      ];
    });
  }

  node(zone: string, name: string): GceNode | undefined {
    return this.nodes().find((n) => n.zone === zone && n.name === name);
  }

  subnetwork(region: string, name: string): SubnetworkView | undefined {
    for (const s of this.cloud.describeSubnets()) {
      if (nameOf(s) !== name || regionOf(s.zone) !== region) continue;
      const networkName = nameOf(this.cloud.getVpc(s.vpcId));
      return { subnet: s, ranges: this.cloud.describeSecondaryRanges(s.id), networkName };
    }
    return undefined;
  }

  zoneUrl(zone: string): string {
    return `${COMPUTE_BASE}/projects/${this.p.project}/zones/${zone}`;
  }

  instanceUrl(n: GceNode): string {
    return `${this.zoneUrl(n.zone)}/instances/${n.name}`;
  }

  networkUrl(name: string): string {
    return `${COMPUTE_BASE}/projects/${this.p.project}/global/networks/${name}`;
  }

  subnetworkUrl(region: string, name: string): string {
    return `${COMPUTE_BASE}/projects/${this.p.project}/regions/${region}/subnetworks/${name}`;
  }

  /** nic0's alias ranges as GCE lists them, with the secondary range each comes from. */
  aliasRanges(n: GceNode): Array<{ ipCidrRange: string; subnetworkRangeName?: string }> {
    return n.nic.prefixes.map((p) => {
      const r = this.cloud.findSecondaryRange(p);
      const own = r && r.subnetId === n.nic.subnetId;
      return own ? { ipCidrRange: p, subnetworkRangeName: r.name } : { ipCidrRange: p };
    });
  }

  instanceJson(n: GceNode): Record<string, unknown> {
    return {
      kind: 'compute#instance',
      id: numericId(n.instance.id),
      name: n.name,
      status: 'RUNNING',
      zone: this.zoneUrl(n.zone),
      machineType: `${this.zoneUrl(n.zone)}/machineTypes/${n.instance.instanceType}`,
      canIpForward: true,
      fingerprint: shortHash(n.instance.id),
      networkInterfaces: [
        {
          kind: 'compute#networkInterface',
          name: 'nic0',
          networkIP: n.nic.primaryIp,
          network: this.networkUrl(n.networkName),
          subnetwork: this.subnetworkUrl(n.region, n.subnetName),
          fingerprint: this.fingerprint(n.nic),
          stackType: 'IPV4_ONLY',
          aliasIpRanges: this.aliasRanges(n),
        },
      ],
      labels: Object.fromEntries(Object.entries(n.instance.tags).filter(([k]) => k !== 'Name')),
      selfLink: this.instanceUrl(n),
    };
  }

  subnetworkJson(region: string, s: SubnetworkView): Record<string, unknown> {
    const name = nameOf(s.subnet);
    return {
      kind: 'compute#subnetwork',
      id: numericId(s.subnet.id),
      name,
      region: `${COMPUTE_BASE}/projects/${this.p.project}/regions/${region}`,
      network: this.networkUrl(s.networkName),
      ipCidrRange: s.subnet.cidr,
      gatewayAddress: gatewayOf(s.subnet.cidr),
      fingerprint: shortHash(s.ranges.map((r) => r.cidr).join(',')),
      stackType: 'IPV4_ONLY',
      privateIpGoogleAccess: true,
      secondaryIpRanges: s.ranges.map((r) => ({ rangeName: r.name, ipCidrRange: r.cidr })),
      selfLink: this.subnetworkUrl(region, name),
    };
  }
}
