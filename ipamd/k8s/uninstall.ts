/**
 * @module uninstall detection
 * On SIGTERM ipamd must tell a restart (rolling update, crash, node drain:
 * keep the CNI config, or Pods scheduled meanwhile fail and the node flaps
 * NotReady) from an uninstall (the DaemonSet is being deleted: remove the
 * config, so the node stops advertising a network nobody serves).
 *
 * The signal is the owning DaemonSet: our Pod's ownerReference names it; if
 * it is gone (`kubectl delete` with background propagation) or carries a
 * deletionTimestamp (foreground propagation), this is an uninstall. Any
 * doubt (API unreachable, our Pod not found, no owner) means restart: a
 * leftover config is repaired by the next install, a missing one breaks
 * every new Pod on the node.
 */
import { describeError, isNotFound, type K8sApis } from './client.js';

export interface UninstallCheck {
  uninstalling: boolean;
  why: string;
}

export async function checkUninstall(apis: K8sApis, namespace: string | undefined, podName: string | undefined): Promise<UninstallCheck> {
  if (!namespace || !podName) return { uninstalling: false, why: 'POD_NAMESPACE/MY_POD_NAME not set' };
  try {
    const pod = await apis.call('read own pod', () => apis.core.readNamespacedPod({ name: podName, namespace }));
    const owner = pod.metadata?.ownerReferences?.find((r) => r.kind === 'DaemonSet' && r.apiVersion.startsWith('apps/'));
    if (!owner) return { uninstalling: false, why: 'Pod has no DaemonSet owner' };
    try {
      const ds = await apis.call('read daemonset', () => apis.apps.readNamespacedDaemonSet({ name: owner.name, namespace }));
      if (ds.metadata?.deletionTimestamp) return { uninstalling: true, why: `DaemonSet ${namespace}/${owner.name} is being deleted` };
      return { uninstalling: false, why: `DaemonSet ${namespace}/${owner.name} exists` };
    } catch (err) {
      if (isNotFound(err)) return { uninstalling: true, why: `DaemonSet ${namespace}/${owner.name} no longer exists` };
      return { uninstalling: false, why: `cannot read DaemonSet: ${describeError(err)}` };
    }
  } catch (err) {
    return { uninstalling: false, why: `cannot read own Pod: ${describeError(err)}` };
  }
}
