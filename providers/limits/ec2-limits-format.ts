/**
 * @module ec2 limits file format
 * The shape of `ec2-limits.json`, shared by the generator and the lookup so
 * the two cannot drift. Rows are positional tuples (see
 * {@link EC2_LIMIT_COLUMNS}) to keep the committed table small: 1,373 types
 * fit in ~60 KB, one line each.
 */

/** Column order of one row; the last is only written for multi-card types. */
export const EC2_LIMIT_COLUMNS = [
  'maxInterfaces',
  'ipv4PerInterface',
  'vcpus',
  'hypervisor',
  'bareMetal',
  'networkCards',
] as const;

export type Ec2Hypervisor = 'nitro' | 'xen' | null;

/**
 * `[maxInterfaces, ipv4PerInterface, vcpus, hypervisor, bareMetal, networkCards?]`.
 * maxInterfaces is the default network card's limit; hypervisor is null for
 * bare metal (EC2 reports none). `networkCards` (absent: 1) is how many cards
 * the type has, each taking maxInterfaces: every multi-card type in the
 * source has identical cards (p4d.24xlarge: 4 × 15), which the generator checks.
 */
export type Ec2LimitsRow =
  [number, number, number, Ec2Hypervisor, boolean] | [number, number, number, Ec2Hypervisor, boolean, number];

export interface Ec2LimitsFile {
  source: string;
  columns: string[];
  types: Record<string, Ec2LimitsRow>;
}
