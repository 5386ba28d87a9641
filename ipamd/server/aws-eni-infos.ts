/**
 * @module AWS ENI infos
 * `GET /v1/enis` in the AWS VPC CNI's shape: what `json.Marshal` makes of `map[networkCard]*datastore.ENIInfos`
 * in aws/amazon-vpc-cni-k8s v1.23.1 (@b521883, pkg/ipamd/introspect.go `eniV1RequestHandler`, the types in
 * pkg/ipamd/datastore/data_store.go), built from our datastore's public views. Our own `/v1/nics` stays the
 * fuller view; this one exists so that scripts written for aws-node read a vpc-ipam node unchanged.
 *
 * Faithful to the AWS output where it is odd:
 * - ContainerID and IfName are scrubbed to "" (v1.23.0, #3739: with them anyone on the node could build a DEL);
 *   the network name, the Pod's namespace and name stay, as there;
 * - `AddressFamily` is "" because `DataStore.GetENIInfos` copies a CidrInfo without it;
 * - `IPAddresses` lists only addresses that are assigned or cooling (the AWS CNI creates the entry on the first
 *   assignment; we keep no entry for a free address); a cooling address has the zero key, an `UnassignedTime`
 *   (its cooldown's end minus IP_COOLDOWN_PERIOD) and the zero `AssignedTime` (we do not keep the old one);
 * - the primary interface's route table is 254 (the kernel's main table, as `RouteTableID` there), secondary
 *   interface n has table n+1.
 * Interfaces ipamd must leave alone (`excluded`: trunk, EFA, no_manage) are not listed: the AWS CNI never puts an
 * unmanaged ENI in its datastore, so IsTrunk and IsEFA are false for every entry (ENABLE_POD_ENI is refused).
 * vpc-ipam manages network card 0 only, so the map has one key, "0".
 */
import type { NetworkInterface } from '../../providers/types.js';
import { containsAddress, parseCidr } from '../../providers/net/cidr.js';
import { routeTableFor } from '../netns/route-table.js';
import type { Assignment } from '../datastore/types.js';
import { goIPNet, goSortedKeys, goTime, type GoIPNet } from './go-json.js';

export interface AwsIPAMKey {
  networkName: string;
  containerID: string;
  ifName: string;
}

/** `omitempty` on every field there: absent, not empty, when unknown. */
export interface AwsIPAMMetadata {
  k8sPodNamespace?: string;
  k8sPodName?: string;
  interfacesCount?: number;
}

export interface AwsAddressInfo {
  Address: string;
  IPAMKey: AwsIPAMKey;
  IPAMMetadata: AwsIPAMMetadata;
  AssignedTime: string;
  UnassignedTime: string;
}

export interface AwsCidrInfo {
  Cidr: GoIPNet;
  IPAddresses: Record<string, AwsAddressInfo>;
  IsPrefix: boolean;
  AddressFamily: string;
}

export interface AwsEni {
  ID: string;
  IsPrimary: boolean;
  IsTrunk: boolean;
  IsEFA: boolean;
  DeviceNumber: number;
  AvailableIPv4Cidrs: Record<string, AwsCidrInfo>;
  IPv6Cidrs: Record<string, AwsCidrInfo>;
  IsExcludedForPodIPs: boolean;
  RouteTableID: number;
  SubnetID: string;
}

export interface AwsEniInfos {
  TotalIPs: number;
  AssignedIPs: number;
  ENIs: Record<string, AwsEni>;
}

/** What the view is built from: the datastore's interfaces, assignments and cooldowns, at one moment. */
export interface EniInfosInput {
  interfaces: ReadonlyArray<NetworkInterface & { usable: boolean }>;
  assignments: readonly Assignment[];
  cooling: ReadonlyArray<{ ip: string; until: number }>;
  cooldownMs: number;
}

/** The AWS CNI's primary ENI is in the main table (unix.RT_TABLE_MAIN); ours is too, which our protocol calls 0. */
const RT_TABLE_MAIN = 254;
/** The AWS CNI sends one address per network card a Pod asks for; ours is always one. */
const INTERFACES_PER_POD = 1;

const ZERO_KEY: AwsIPAMKey = { networkName: '', containerID: '', ifName: '' };

function assignedEntry(a: Assignment): AwsAddressInfo {
  const meta: AwsIPAMMetadata = {
    ...(a.pod.namespace ? { k8sPodNamespace: a.pod.namespace } : {}),
    ...(a.pod.name ? { k8sPodName: a.pod.name } : {}),
    interfacesCount: INTERFACES_PER_POD,
  };
  return {
    Address: a.ip,
    IPAMKey: { networkName: a.network, containerID: '', ifName: '' },
    IPAMMetadata: meta,
    AssignedTime: goTime(a.assignedAt),
    UnassignedTime: goTime(undefined),
  };
}

function coolingEntry(ip: string, until: number, cooldownMs: number): AwsAddressInfo {
  return {
    Address: ip,
    IPAMKey: { ...ZERO_KEY },
    IPAMMetadata: {},
    AssignedTime: goTime(undefined),
    UnassignedTime: goTime(until - cooldownMs),
  };
}

/** `/v1/enis`, keyed by network card. */
export function awsEniInfos(input: EniInfosInput): Record<string, AwsEniInfos> {
  const byBlock = new Map<string, Assignment[]>();
  for (const a of input.assignments) {
    const k = `${a.interfaceId}\u0000${a.blockCidr}`;
    const list = byBlock.get(k);
    if (list) list.push(a);
    else byBlock.set(k, [a]);
  }
  let total = 0;
  let assigned = 0;
  const enis: Array<[string, AwsEni]> = [];
  for (const nic of input.interfaces) {
    if (nic.excluded !== undefined) continue;
    const v4: Array<[string, AwsCidrInfo]> = [];
    const v6: Array<[string, AwsCidrInfo]> = [];
    for (const block of nic.blocks) {
      const range = parseCidr(block.cidr);
      // Orphans (restored, their address not shown by the cloud) sit in no block: the AWS CNI has none either.
      const held = (byBlock.get(`${nic.id}\u0000${block.cidr}`) ?? []).filter((a) => containsAddress(range, a.ip));
      const entries: Array<[string, AwsAddressInfo]> = held.map((a) => [a.ip, assignedEntry(a)]);
      for (const c of input.cooling) {
        if (containsAddress(range, c.ip)) entries.push([c.ip, coolingEntry(c.ip, c.until, input.cooldownMs)]);
      }
      const info: AwsCidrInfo = {
        Cidr: goIPNet(range),
        IPAddresses: goSortedKeys(entries),
        IsPrefix: block.kind === 'prefix',
        AddressFamily: '',
      };
      if (range.family === 4) {
        v4.push([block.cidr, info]);
        total += Number(range.size);
        assigned += held.length;
      } else {
        v6.push([block.cidr, info]);
      }
    }
    enis.push([
      nic.id,
      {
        ID: nic.id,
        IsPrimary: nic.deviceIndex === 0,
        IsTrunk: false,
        IsEFA: false,
        DeviceNumber: nic.deviceIndex,
        AvailableIPv4Cidrs: goSortedKeys(v4),
        IPv6Cidrs: goSortedKeys(v6),
        IsExcludedForPodIPs: !nic.usable,
        RouteTableID: nic.deviceIndex === 0 ? RT_TABLE_MAIN : routeTableFor(nic.deviceIndex),
        SubnetID: nic.subnetId,
      },
    ]);
  }
  return { '0': { TotalIPs: total, AssignedIPs: assigned, ENIs: goSortedKeys(enis) } };
}
