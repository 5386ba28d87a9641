/**
 * @module uninstall detection
 * On SIGTERM ipamd must tell a restart (rolling update, crash, node drain:
 * keep the CNI config, or Pods scheduled meanwhile fail and the node flaps
 * NotReady) from an uninstall (the DaemonSet is being deleted: remove the
 * config, so the node stops advertising a network nobody serves).
 *
 * The signal is the owning DaemonSet: our Pod's ownerReference names it; if
 * it is gone (`kubectl delete` with background propagation) or carries a
 * deletionTimestamp (foreground propagation; not with the `orphan`
 * finalizer, which leaves its Pods running), this is an uninstall. Any
 * doubt (API unreachable, our Pod not found, no owner) means restart: a
 * leftover config is repaired by the next install, a missing one breaks
 * every new Pod on the node.
 *
 * The read alone fails in the common uninstall (`kubectl delete -f` removes
 * our ServiceAccount and RBAC with the DaemonSet: 401/403 at SIGTERM), so
 * {@link decideUninstall} first asks the watch that has followed our
 * DaemonSet since start (daemonset-watch.ts) and reads only when it saw nothing.
 *
 * The node's NodeAddressPool is not deleted here, uninstall or not: that
 * request would often be refused for the same reason, and nothing needs it
 * gone. Deleting the CRD (the install's second uninstall step) deletes them
 * all; before that each goes with its Node (owner reference).
 */
import type { V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import { describeError, isNotFound, type K8sApis } from './client.js';
import { removeConflist } from './conflist.js';

export interface UninstallCheck {
  uninstalling: boolean;
  why: string;
}

/** The DaemonSet that controls a Pod (ours: the one whose deletion is an uninstall). */
export function daemonSetOwner(pod: V1Pod): V1OwnerReference | undefined {
  return pod.metadata?.ownerReferences?.find((r) => r.kind === 'DaemonSet' && r.apiVersion.startsWith('apps/'));
}

export async function checkUninstall(
  apis: K8sApis,
  namespace: string | undefined,
  podName: string | undefined,
): Promise<UninstallCheck> {
  if (!namespace || !podName) return { uninstalling: false, why: 'POD_NAMESPACE/MY_POD_NAME not set' };
  try {
    const pod = await apis.call('read own pod', () => apis.core.readNamespacedPod({ name: podName, namespace }));
    const owner = daemonSetOwner(pod);
    if (!owner) return { uninstalling: false, why: 'Pod has no DaemonSet owner' };
    try {
      const read = () => apis.apps.readNamespacedDaemonSet({ name: owner.name, namespace });
      const ds = await apis.call('read daemonset', read);
      const what = `DaemonSet ${namespace}/${owner.name}`;
      // --cascade=orphan leaves the Pods running, usually for a re-created DaemonSet to adopt: not an uninstall.
      if (ds.metadata?.deletionTimestamp && ds.metadata.finalizers?.includes('orphan')) {
        return { uninstalling: false, why: `${what} is being deleted with its Pods orphaned` };
      }
      if (ds.metadata?.deletionTimestamp) return { uninstalling: true, why: `${what} is being deleted` };
      return { uninstalling: false, why: `DaemonSet ${namespace}/${owner.name} exists` };
    } catch (err) {
      if (isNotFound(err)) return { uninstalling: true, why: `DaemonSet ${namespace}/${owner.name} no longer exists` };
      return { uninstalling: false, why: `cannot read DaemonSet: ${describeError(err)}` };
    }
  } catch (err) {
    return { uninstalling: false, why: `cannot read own Pod: ${describeError(err)}` };
  }
}

/**
 * At stop: what the DaemonSet watch saw wins (it may have seen the deletion while our token was valid);
 * else the read above, in which an event that arrived meanwhile still counts.
 */
export async function decideUninstall(
  watch: { deletion: string | undefined } | undefined,
  apis: K8sApis,
  namespace: string | undefined,
  podName: string | undefined,
): Promise<UninstallCheck> {
  if (watch?.deletion) return { uninstalling: true, why: watch.deletion };
  const read = await checkUninstall(apis, namespace, podName);
  if (!read.uninstalling && watch?.deletion) return { uninstalling: true, why: `${watch.deletion} (${read.why})` };
  return read;
}

/** Decides, logs why, and removes the conflist on an uninstall (`removed`: there was one to remove). */
export async function removeIfUninstalling(
  watch: { deletion: string | undefined } | undefined,
  apis: K8sApis,
  s: { namespace: string; podName: string | undefined; confDir: string },
  log: { info(o: object, m?: string): void },
): Promise<{ uninstalling: boolean; removed: boolean }> {
  const u = await decideUninstall(watch, apis, s.namespace, s.podName);
  const keep = 'restart, not uninstall: keeping the CNI config';
  log.info(u, u.uninstalling ? 'uninstalling: removing the CNI config' : keep);
  return { uninstalling: u.uninstalling, removed: u.uninstalling && removeConflist(s.confDir) };
}
