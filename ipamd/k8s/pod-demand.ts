/**
 * @module Pod demand and staleness
 * Pure functions over the node's Pods and the datastore's assignments.
 *
 * Demand (as Azure CNS does it): a Pod bound to this node that is Pending,
 * uses the Pod network, is not being deleted and has no address yet will
 * send an ADD soon. Counting them lets the pool grow before that ADD, instead
 * of the ADD waiting for a cloud call.
 *
 * Staleness: an assignment is stale when the Pod it was made for no longer
 * exists. It is keyed by the Pod UID that the runtime passed with the ADD
 * (K8S_POD_UID), never by the Pod's name: a StatefulSet Pod comes back with
 * the same name and a new UID, and the old sandbox's address must go while
 * the new one's stays. A static Pod's mirror in the API has its own UID; the
 * UID the runtime uses is its `kubernetes.io/config.hash` annotation.
 * Assignments without a UID (runtimes that do not pass it) are never judged.
 *
 * What counts as gone (docs/decisions.md, "Strict fake API server"):
 * - a Pod missing from the list;
 * - a Pod in phase Succeeded or Failed: terminal phases are final, and the
 *   kubelet reports one only after the Pod's containers stopped and it tore
 *   the sandbox down (its CNI DEL, which may have been missed: then only the
 *   reaper gives the address back, while Jobs' Pods can stay for days);
 * - not a Pod being deleted (`deletionTimestamp` set) that is still Running
 *   or Pending: its containers keep running through the grace period, and a
 *   finalizer may hold the object long after, with the sandbox still up.
 *   Releasing its address then could hand it to a new Pod while the old one
 *   still answers on it. Its DEL comes with the teardown; if not, the
 *   terminal phase the kubelet writes, or its removal, makes it gone.
 */
import type { Assignment } from '../datastore/types.js';
import type { PodInfo } from './pod-watch.js';

/** Pods this node will have to give an address to soon. */
export function expectedDemand(pods: Iterable<PodInfo>, assignments: Iterable<Assignment>): number {
  const uids = new Set<string>();
  const names = new Set<string>();
  for (const a of assignments) {
    if (a.pod.uid) uids.add(a.pod.uid);
    if (a.pod.name) names.add(`${a.pod.namespace ?? ''}/${a.pod.name}`);
  }
  let n = 0;
  for (const p of pods) {
    if (p.phase !== 'Pending' || p.hostNetwork || p.deleting || p.podIP) continue;
    if (uids.has(p.uid) || (p.staticUid && uids.has(p.staticUid))) continue;
    // Without a UID in the assignment, a name match is good enough to avoid growing twice (demand only).
    if (names.has(`${p.namespace}/${p.name}`)) continue;
    n++;
  }
  return n;
}

/** Phases after which a Pod's sandbox is gone for good (PodSucceeded, PodFailed). */
export const TERMINAL_PHASES: ReadonlySet<string> = new Set(['Succeeded', 'Failed']);

/** Every UID a runtime may have passed for the Pods whose sandbox may still exist. */
export function liveUids(pods: Iterable<PodInfo>): Set<string> {
  const out = new Set<string>();
  for (const p of pods) {
    if (TERMINAL_PHASES.has(p.phase)) continue;
    out.add(p.uid);
    if (p.staticUid) out.add(p.staticUid);
  }
  return out;
}

/**
 * Assignments whose Pod is not in a LIST that started at `listStartedAt`, or
 * is there in a terminal phase.
 * Only assignments made before the LIST started are judged: a Pod exists in
 * the API before its sandbox's ADD, so such a LIST must show it unless it was
 * deleted; an ADD racing with the LIST is left for the next pass.
 */
export function staleAssignments(
  assignments: Iterable<Assignment>,
  pods: Iterable<PodInfo>,
  listStartedAt: number,
): Assignment[] {
  const live = liveUids(pods);
  const out: Assignment[] = [];
  for (const a of assignments) {
    if (!a.pod.uid) continue;
    if (a.assignedAt >= listStartedAt) continue;
    if (!live.has(a.pod.uid)) out.push(a);
  }
  return out;
}
