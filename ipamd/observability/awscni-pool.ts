/**
 * @module awscni pool
 * The AWS VPC CNI's pool gauges as pure functions of what the datastore holds, computed at scrape time like
 * ipamd's own (so they cannot drift). Meanings follow the AWS CNI's datastore and `updateIPStats`:
 * - interfaces it must leave alone (`excluded`: no_manage, trunk, EFA…) are its "unmanaged" ENIs: not allocated,
 *   and taken off the maximum;
 * - `ip_max` is addresses per interface (slots × block size: ×16 with /28 prefixes) × that maximum;
 * - per-CIDR series name each block as the cloud gave it (`10.0.1.7/32`, `10.0.1.16/28`), 0 while it has no Pod.
 */
import type { NetworkInterface } from '../../providers/types.js';
import type { Assignment, PoolSnapshot } from '../datastore/types.js';
import type { PoolLimits } from '../pool/planner.js';

export interface AwsCniPoolInput {
  snapshot: PoolSnapshot;
  /** The datastore's interfaces, each with the addresses assigned on it (every block kind). */
  interfaces: ReadonlyArray<NetworkInterface & { assigned: number }>;
  assignments: readonly Assignment[];
  /** Undefined until init() has read the instance type's limits: the maxima read 0, as the AWS CNI's do. */
  limits: PoolLimits | undefined;
}

export interface AwsCniPoolValues {
  eniAllocated: number;
  eniMax: number;
  ipMax: number;
  totalIps: number;
  assignedIps: number;
  totalPrefixes: number;
  assignedPerEni: Map<string, number>;
  assignedPerCidr: Map<string, number>;
}

export function awsCniPoolValues(x: AwsCniPoolInput): AwsCniPoolValues {
  const { snapshot: s, limits } = x;
  const managed = x.interfaces.filter((i) => i.excluded === undefined);
  const unmanaged = x.interfaces.length - managed.length;
  const eniMax = limits ? Math.max(0, limits.maxInterfaces - unmanaged) : 0;
  const assignedPerCidr = new Map<string, number>();
  for (const i of managed) for (const b of i.blocks) assignedPerCidr.set(b.cidr, 0);
  for (const a of x.assignments) assignedPerCidr.set(a.blockCidr, (assignedPerCidr.get(a.blockCidr) ?? 0) + 1);
  const prefixes = s.interfaces.filter((i) => i.usable).reduce((n, i) => n + i.blocks, 0);
  return {
    eniAllocated: managed.length,
    eniMax,
    ipMax: limits ? limits.slotsPerInterface * s.blockSize * eniMax : 0,
    totalIps: s.total,
    assignedIps: s.assigned,
    // The AWS CNI sets it in prefix mode only; with secondary IPs it stays 0.
    totalPrefixes: s.mode === 'prefix' ? prefixes : 0,
    assignedPerEni: new Map(managed.map((i) => [i.id, i.assigned])),
    assignedPerCidr,
  };
}
