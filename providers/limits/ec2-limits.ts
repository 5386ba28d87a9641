/**
 * @module ec2 limits
 * Per-instance-type networking limits of EC2 (from the committed
 * `ec2-limits.json`, see `generate.ts`) and the EKS max-pods formula.
 *
 * The table plays the role of the VPC CNI's generated
 * `pkg/vpc/vpc_ip_resource_limit.go` (aws-vpc-cni.md §7): a lookup that needs
 * no API call at start-up. Unknown types return `undefined`; the AWS provider
 * then asks DescribeInstanceTypes, the sim throws.
 */
import type { InstanceLimits } from '../types.js';
import type { Ec2Hypervisor, Ec2LimitsFile, Ec2LimitsRow } from './ec2-limits-format.js';
import table from './ec2-limits.json' with { type: 'json' };

export type { Ec2Hypervisor } from './ec2-limits-format.js';

/** EC2 /28 delegated prefixes: 16 addresses each. */
export const EC2_PREFIX_LENGTH = 28;

/** {@link InstanceLimits} plus the EC2 facts the max-pods formula needs. */
export interface Ec2InstanceLimits extends InstanceLimits {
  vcpus: number;
  hypervisor: Ec2Hypervisor;
  bareMetal: boolean;
  /**
   * Network cards (DescribeInstanceTypes `MaximumNetworkCards`), each taking `maxInterfaces` ENIs
   * (p4d.24xlarge: 4 × 15 = 60). ipamd attaches only to card 0, so `maxInterfaces` is what it may use.
   */
  networkCards: number;
}

const rows = (table as unknown as Ec2LimitsFile).types;
const cache = new Map<string, Ec2InstanceLimits>();

function fromRow(instanceType: string, row: Ec2LimitsRow): Ec2InstanceLimits {
  const [maxInterfaces, ipv4PerInterface, vcpus, hypervisor, bareMetal, networkCards = 1] = row;
  return {
    instanceType,
    maxInterfaces,
    ipv4PerInterface,
    supportsIps: true,
    // Same test as the VPC CNI (`IsBareMetal || HypervisorType == "nitro"`): prefixes need Nitro,
    // and bare-metal types report no hypervisor at all.
    supportsPrefixes: hypervisor === 'nitro' || bareMetal,
    prefixLength: EC2_PREFIX_LENGTH,
    canCreateInterfaces: true,
    vcpus,
    hypervisor,
    bareMetal,
    networkCards,
  };
}

/** Limits of an EC2 instance type, or `undefined` when the table does not know it. Returns a fresh copy. */
export function lookupEc2Limits(instanceType: string): Ec2InstanceLimits | undefined {
  let hit = cache.get(instanceType);
  if (!hit) {
    // hasOwn guards against "constructor", "__proto__" and friends.
    if (!Object.hasOwn(rows, instanceType)) return undefined;
    hit = fromRow(instanceType, rows[instanceType]!);
    cache.set(instanceType, hit);
  }
  return { ...hit };
}

/** Every instance type in the table, sorted. */
export function ec2InstanceTypes(): string[] {
  return Object.keys(rows).sort();
}

export interface MaxPodsOptions {
  /** `--cni-prefix-delegation-enabled`. Only changes the result on Nitro types. */
  prefixDelegation?: boolean;
  /** `--cni-custom-networking-enabled`: the primary interface carries no Pod addresses. */
  customNetworking?: boolean;
  /** `--cni-max-eni`: use at most this many interfaces. */
  maxEnis?: number;
  /**
   * `--show-max-allowed`: skip the 110/250 ceiling. With neither PD nor custom
   * networking this is exactly the VPC CNI's `misc/eni-max-pods.txt` value.
   */
  showMaxAllowed?: boolean;
}

/** Pods the kubelet may admit when only `vcpus ≤ 30` (the calculator's `CPU_COUNT -gt 30` test). */
export const MAX_PODS_CEILING_LOW_CPU = 110;
/** Ceiling for types with more than 30 vCPUs. */
export const MAX_PODS_CEILING_HIGH_CPU = 250;

/**
 * Max pods exactly as EKS computes it: awslabs/amazon-eks-ami
 * `max-pods-calculator.sh`, summarised in aws-vpc-cni.md §7.
 *
 * - interfaces = min(maxEnis option, default card's limit), minus 1 with custom networking;
 * - secondary-IP mode: `interfaces * (ipv4PerInterface - 1) + 2`;
 * - prefix delegation on a Nitro type: `interfaces * ((ipv4PerInterface - 1) * 16) + 2`;
 * - unless `showMaxAllowed`, capped at 110 when vCPUs ≤ 30 and at 250 above.
 *   The cap applies in both modes, as in the script (m5.large PD: 3·9·16+2 = 434 → 110).
 *
 * The +2 are the host-network pods (aws-node, kube-proxy), which use no Pod address.
 * The calculator tests `Hypervisor == nitro` for PD, so bare-metal types get the
 * secondary-IP formula here even though ipamd can delegate prefixes on them.
 */
export function ec2MaxPods(
  limits: Pick<Ec2InstanceLimits, 'maxInterfaces' | 'ipv4PerInterface' | 'vcpus' | 'hypervisor'>,
  opts: MaxPodsOptions = {},
): number {
  let interfaces = limits.maxInterfaces;
  if (opts.maxEnis !== undefined) interfaces = Math.min(interfaces, opts.maxEnis);
  if (opts.customNetworking) interfaces -= 1;
  interfaces = Math.max(0, interfaces);
  const perInterface = limits.ipv4PerInterface - 1;
  const pd = opts.prefixDelegation === true && limits.hypervisor === 'nitro';
  const maxPods = pd ? interfaces * (perInterface * 16) + 2 : interfaces * perInterface + 2;
  if (opts.showMaxAllowed) return maxPods;
  const ceiling = limits.vcpus > 30 ? MAX_PODS_CEILING_HIGH_CPU : MAX_PODS_CEILING_LOW_CPU;
  return Math.min(ceiling, maxPods);
}
