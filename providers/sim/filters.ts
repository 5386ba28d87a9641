/**
 * @module sim filters
 * Describe-call filters, with EC2's semantics (cloud-apis.md §1.6): values of
 * one filter are OR-ed, different filters are AND-ed, and string values may
 * use the `*` (any run) and `?` (one character) wildcards. Pure functions
 * over model records.
 */
import type { SubnetFilter } from '../types.js';
import type { SimInterface, SimInterfaceStatus, SimSubnet, Tags } from './model.js';

/**
 * Filters for interfaces, named after the EC2 filters they model. An absent
 * field does not filter; an empty list matches nothing.
 */
export interface InterfaceFilter {
  /** `network-interface-id`; an unknown id is an error, as in EC2. */
  ids?: string[];
  /** `subnet-id` */
  subnetIds?: string[];
  /** `vpc-id` */
  vpcIds?: string[];
  /** `attachment.instance-id` */
  instanceIds?: string[];
  /** `status` */
  status?: SimInterfaceStatus[];
  /** `availability-zone` */
  zones?: string[];
  /** `tag-key`: the interface has at least one of these keys. */
  tagKeys?: string[];
  /** `tag:<key>` = value; wildcards allowed, `*` matches any value. */
  tags?: Tags;
  /** `description`, wildcards allowed. */
  descriptions?: string[];
  /** `private-ip-address`: primary or secondary, wildcards allowed. */
  privateIps?: string[];
}

const globCache = new Map<string, RegExp>();

/** EC2-style wildcard match: `*` any run, `?` one character, everything else literal. */
export function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === value;
  let re = globCache.get(pattern);
  if (!re) {
    const body = [...pattern]
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${body}$`, 's');
    globCache.set(pattern, re);
  }
  return re.test(value);
}

function anyOf(patterns: readonly string[] | undefined, values: readonly string[]): boolean {
  if (patterns === undefined) return true;
  return patterns.some((p) => values.some((v) => globMatch(p, v)));
}

/** Every `key → pattern` of `want` is matched by a tag of `have`. */
export function tagsMatch(want: Tags | undefined, have: Tags): boolean {
  if (!want) return true;
  return Object.entries(want).every(([k, p]) => Object.hasOwn(have, k) && globMatch(p, have[k]!));
}

export function interfaceMatches(f: InterfaceFilter, nic: SimInterface): boolean {
  return (
    (f.ids === undefined || f.ids.includes(nic.id)) &&
    (f.subnetIds === undefined || f.subnetIds.includes(nic.subnetId)) &&
    (f.vpcIds === undefined || f.vpcIds.includes(nic.vpcId)) &&
    (f.instanceIds === undefined ||
      (nic.attachment !== undefined && f.instanceIds.includes(nic.attachment.instanceId))) &&
    (f.status === undefined || f.status.includes(nic.status)) &&
    (f.zones === undefined || f.zones.includes(nic.zone)) &&
    (f.tagKeys === undefined || f.tagKeys.some((k) => Object.hasOwn(nic.tags, k))) &&
    tagsMatch(f.tags, nic.tags) &&
    anyOf(f.descriptions, [nic.description]) &&
    anyOf(f.privateIps, [nic.primaryIp, ...nic.privateIps])
  );
}

export function subnetMatches(f: SubnetFilter, s: SimSubnet): boolean {
  return (
    (f.ids === undefined || f.ids.includes(s.id)) &&
    (f.vpcId === undefined || f.vpcId === s.vpcId) &&
    (f.zone === undefined || f.zone === s.zone) &&
    tagsMatch(f.tags, s.tags)
  );
}
