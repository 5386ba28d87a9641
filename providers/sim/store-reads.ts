/**
 * @module sim store reads
 * The describe calls of a {@link SimCloud} over its {@link SimStore}: filtered, sorted, and deep copies, so a
 * caller can never change a record except through the cloud's methods. Naming an unknown id is an error, as
 * in EC2.
 */
import type { Subnet, SubnetFilter } from '../types.js';
import { interfaceMatches, subnetMatches, type InterfaceFilter } from './filters.js';
import type { SimInstanceView, SimInterface, SimSecondaryRange, SimSubnet } from './model.js';
import type { SimStore } from './store.js';

export function copy<T>(v: T): T {
  return structuredClone(v);
}

/** A subnet with its live free-address count. */
export function subnetView(store: SimStore, s: SimSubnet): Subnet {
  const free = store.space(s.id, 'DescribeSubnets').freeCount();
  return { id: s.id, cidr: s.cidr, zone: s.zone, vpcId: s.vpcId, availableAddresses: free, tags: { ...s.tags } };
}

export function instanceView(store: SimStore, instanceId: string): SimInstanceView {
  const inst = store.instance(instanceId, 'DescribeInstances');
  return { ...copy(inst), interfaces: store.attachedTo(inst.id).map(copy) };
}

/** DescribeNetworkInterfaces, sorted by id. */
export function describeInterfaces(store: SimStore, filter: InterfaceFilter): SimInterface[] {
  for (const id of filter.ids ?? []) store.nic(id, 'DescribeNetworkInterfaces');
  return [...store.interfaces.values()]
    .filter((n) => interfaceMatches(filter, n))
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map(copy);
}

/** DescribeSubnets with live free-address counts. */
export function describeSubnets(store: SimStore, filter: SubnetFilter): Subnet[] {
  for (const id of filter.ids ?? []) store.subnet(id, 'DescribeSubnets');
  return [...store.subnets.values()].filter((s) => subnetMatches(filter, s)).map((s) => subnetView(store, s));
}

/** Secondary ranges of one subnet (or of all), by subnet then name. */
export function describeSecondaryRanges(store: SimStore, subnetId?: string): SimSecondaryRange[] {
  if (subnetId !== undefined) return store.rangesOf(store.subnet(subnetId, 'DescribeSubnets').id).map(copy);
  return [...store.secondaryRanges.values()]
    .sort((a, b) => (a.subnetId + a.name < b.subnetId + b.name ? -1 : 1))
    .map(copy);
}
