/**
 * @module sim model
 * The records the simulated cloud is made of. They are plain JSON data: the
 * cloud keeps them in maps, hands out deep copies, and saves them as they
 * are ({@link SimCloudState}). Names are neutral (an "interface" is an EC2
 * ENI, an Azure NIC or a GCE nic) so the EC2, ARM and GCE emulators can
 * share the model; the EC2 flavour shows only in ids (`eni-…`) and codes.
 */
import type { InstanceLimits } from '../types.js';
import type { ReservationType } from './address-space.js';

export type { ReservationType } from './address-space.js';

export type Tags = Record<string, string>;

export interface SimVpc {
  id: string;
  cidrs: string[];
  /** Security group given to instances launched without one. */
  defaultSecurityGroup: string;
  tags: Tags;
}

export interface SimSubnet {
  id: string;
  vpcId: string;
  cidr: string;
  zone: string;
  tags: Tags;
}

/** A subnet CIDR reservation (EC2 CreateSubnetCidrReservation), or space taken by someone outside the sim. */
export interface SimReservation {
  id: string;
  subnetId: string;
  cidr: string;
  type: ReservationType;
  description: string;
}

export interface SimAttachment {
  id: string;
  instanceId: string;
  deviceIndex: number;
  /** EC2 default for a secondary interface is false until ModifyNetworkInterfaceAttribute. */
  deleteOnTermination: boolean;
  /** Model time (ms) of the attach; an IMDS emulator adds its propagation delay to this. */
  attachedAt: number;
  /**
   * EC2's attachment status while it changes (`attaching`, `detaching`); absent means `attached`, also in
   * states saved before the transitions were modelled. Only an emulator that asks for them gets them.
   */
  state?: SimAttachmentState;
  /** Emulator time (ms) at which `state` ends: `attaching` becomes attached, `detaching` detached. */
  settlesAt?: number;
  /** EC2 NetworkCardIndex on a multi-card type; absent means card 0 (every attach before cards were modelled). */
  networkCardIndex?: number;
}

export type SimAttachmentState = 'attaching' | 'detaching';

/**
 * An instance type as the sim knows it: the neutral limits, `maxInterfaces` being per network card, and how many
 * cards it has (EC2 `MaximumNetworkCards`; absent: 1). The EC2 table's entries carry it (`Ec2InstanceLimits`).
 */
export type SimInstanceLimits = InstanceLimits & { networkCards?: number };

/** EC2 status: `available` = detached, `in-use` = attached (also while attaching or detaching). */
export type SimInterfaceStatus = 'available' | 'in-use';

/**
 * EC2 InterfaceType of an interface: what CreateNetworkInterface may ask for (the API's
 * NetworkInterfaceCreationType: branch, efa, efa-only, trunk), and `interface`, which it may not
 * ask for but every other ENI is.
 */
export type SimInterfaceType = 'interface' | 'branch' | 'efa' | 'efa-only' | 'trunk';
export const SIM_INTERFACE_TYPES: readonly SimInterfaceType[] = ['interface', 'branch', 'efa', 'efa-only', 'trunk'];

export interface SimInterface {
  id: string;
  mac: string;
  vpcId: string;
  subnetId: string;
  zone: string;
  primaryIp: string;
  securityGroups: string[];
  description: string;
  tags: Tags;
  /** Absent: `interface` (and in states saved before types were modelled). Stays what it was created as. */
  interfaceType?: SimInterfaceType;
  createdAt: number;
  status: SimInterfaceStatus;
  attachment?: SimAttachment;
  /** Secondary addresses (dotted, no suffix), ascending. */
  privateIps: string[];
  /**
   * Delegated prefixes in CIDR form, ascending. Each lies in the interface's
   * subnet or in one of that subnet's secondary ranges (GCE alias ranges);
   * which one follows from the CIDR, since the ranges never overlap.
   */
  prefixes: string[];
}

/**
 * A named secondary range of a subnet (GCE `secondaryIpRanges`, e.g. `pods`).
 * It holds only prefixes (alias IP ranges) of the subnet's interfaces, has
 * no cloud-reserved addresses (GCE reserves none in secondary ranges), and
 * need not lie inside the VPC's CIDRs (a GCE network has none).
 */
export interface SimSecondaryRange {
  id: string;
  subnetId: string;
  /** Unique within its subnet; what a GCE request names (`subnetworkRangeName`). */
  name: string;
  cidr: string;
}

/** Cloud-reserved addresses at the start and end of every subnet's primary range. */
export interface SimReservedCounts {
  first: number;
  last: number;
}

export interface SimInstance {
  id: string;
  instanceType: string;
  zone: string;
  vpcId: string;
  subnetId: string;
  primaryInterfaceId: string;
  securityGroups: string[];
  tags: Tags;
  launchedAt: number;
}

/** An instance with its attached interfaces, by device index. */
export interface SimInstanceView extends SimInstance {
  interfaces: SimInterface[];
}

export const SIM_STATE_VERSION = 1;

/** Everything `SimCloud.toJSON()` writes; `SimCloud.fromJSON()` reads it back. */
export interface SimCloudState {
  version: typeof SIM_STATE_VERSION;
  /** PRNG state, so address choices continue the same sequence after a reload. */
  prngState: number;
  /** Next value of the id counter shared by every resource kind. */
  nextId: number;
  vpcs: SimVpc[];
  subnets: SimSubnet[];
  reservations: SimReservation[];
  instances: SimInstance[];
  interfaces: SimInterface[];
  /** Instance types defined at run time (on top of the EC2 table). */
  instanceTypes: SimInstanceLimits[];
  /** Secondary ranges; absent in states saved before they existed (read as none). */
  secondaryRanges?: SimSecondaryRange[];
  /** Reserved addresses per primary range; absent means EC2's (first 4, last 1). */
  subnetReserved?: SimReservedCounts;
}
