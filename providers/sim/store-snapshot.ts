/**
 * @module sim store snapshot
 * A {@link SimStore} as the plain, versioned {@link SimCloudState} that `SimCloud.toJSON()` writes, and back.
 * Records are sorted by id so one cloud always saves to the same bytes; address spaces are not saved but
 * rebuilt on load, which is also how a corrupt file (two owners of one address) is caught.
 */
import { SIM_STATE_VERSION, type SimCloudState } from './model.js';
import { Prng } from './prng.js';
import type { SimStore } from './store.js';

function copy<T>(v: T): T {
  return structuredClone(v);
}

export function storeToState(store: SimStore): SimCloudState {
  const sortById = <T extends { id: string }>(m: Map<string, T>): T[] =>
    [...m.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map(copy);
  return {
    version: SIM_STATE_VERSION,
    prngState: store.prng.state,
    nextId: store.nextId,
    vpcs: sortById(store.vpcs),
    subnets: sortById(store.subnets),
    reservations: sortById(store.reservations),
    instances: sortById(store.instances),
    interfaces: sortById(store.interfaces),
    instanceTypes: [...store.instanceTypes.values()].map(copy),
    secondaryRanges: sortById(store.secondaryRanges),
    subnetReserved: { ...store.subnetReserved },
  };
}

/** Fills an empty store from a checked state (see `cloud-state.ts`), then rebuilds its address spaces. */
export function restoreStore(st: SimStore, s: SimCloudState): void {
  st.prng = new Prng(s.prngState);
  st.nextId = s.nextId;
  for (const v of s.vpcs) st.vpcs.set(v.id, copy(v));
  for (const v of s.subnets) st.subnets.set(v.id, copy(v));
  for (const v of s.reservations) st.reservations.set(v.id, copy(v));
  for (const v of s.instances) st.instances.set(v.id, copy(v));
  for (const v of s.interfaces) st.interfaces.set(v.id, copy(v));
  for (const v of s.instanceTypes) st.instanceTypes.set(v.instanceType, copy(v));
  for (const v of s.secondaryRanges ?? []) st.secondaryRanges.set(v.id, copy(v));
  st.rebuildSpaces();
}
