/**
 * Uninstall end to end, with the real daemon wiring (run.ts) against the fake API server. `kubectl delete -f`
 * revokes ipamd's ServiceAccount and RBAC within the same second as the DaemonSet, so at SIGTERM the read of
 * uninstall.ts is refused: the conflist must still go, because the watch ipamd keeps on its DaemonSet saw the
 * deletion while its token worked (daemonset-watch.ts). A rolling update, an orphaning delete and an
 * unreachable API server keep it. The documented order (docs/install.md "Uninstall") works by the read alone,
 * as an older ipamd or an older Role without `watch` has it.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkUninstall } from '../../ipamd/k8s/uninstall.js';
import { clusterPerFile, startK8sDaemon, type K8sDaemon } from './daemon-harness.js';
import { nodeObject, seedSimCloud, until } from './helpers.js';

const NS = 'kube-system';
const DS = 'vpc-ipam-node';
const fx = clusterPerFile();

/** A fresh DaemonSet (earlier tests deleted theirs), a Node, our Pod owned by it, and a token of our own. */
function prepare(node: string) {
  const { server } = fx.c;
  const dir = mkdtempSync(path.join(tmpdir(), `ipamd-${node}-`));
  const cloud = seedSimCloud(path.join(dir, 'state'));
  server.create('nodes', nodeObject(node, { providerID: `aws:///${cloud.zone}/${cloud.instanceId}` }));
  if (server.list('daemonsets', NS).length) server.remove('daemonsets', DS, NS);
  const ds = server.create('daemonsets', { metadata: { name: DS }, spec: {} }, NS);
  const podName = `${DS}-${node}`;
  const owner = { apiVersion: 'apps/v1', kind: 'DaemonSet', name: DS, uid: ds.metadata.uid, controller: true };
  const spec = { nodeName: node, hostNetwork: true, containers: [] };
  const metadata = { name: podName, ownerReferences: [owner] };
  server.create('pods', { metadata, spec, status: { phase: 'Running' } }, NS);
  // Our own ServiceAccount token: revoking it (the ServiceAccount deleted) leaves other clients alone.
  const token = server.auth.issue();
  const env = { MY_POD_NAME: podName, POD_NAMESPACE: NS, KUBECONFIG: server.writeKubeconfig(dir, token) };
  return { dir, env, token, podName };
}

/** Counts the node-wide rule removal (plumbing is off here, so the daemon has no real NodeNetworkSync). */
function standInNodeNetwork(d: K8sDaemon): { removed: number } {
  const calls = { removed: 0 };
  const standIn = {
    ensure: async () => {},
    idle: async () => {},
    problems: () => [],
    remove: async () => {
      calls.removed++;
      return ['VPC-IPAM-SNAT', 'VPC-IPAM-NODEPORT', 'fwmark rule'];
    },
  };
  (d.running.daemon as unknown as { nodeNetwork: unknown }).nodeNetwork = standIn;
  return calls;
}

/** SIGTERM's stop; off the list of daemons the file's teardown stops. */
async function stop(d: K8sDaemon): Promise<void> {
  fx.daemons.splice(fx.daemons.indexOf(d), 1);
  await d.running.stop();
}

async function startInstalled(node: string) {
  const p = prepare(node);
  const d = await startK8sDaemon(fx.c, node, { dir: p.dir, env: p.env });
  fx.daemons.push(d);
  const net = standInNodeNetwork(d);
  const file = path.join(d.confDir, '10-vpc-ipam.conflist');
  await until('conflist installed', () => existsSync(file));
  // The watch delivered the DaemonSet as it is (the synthetic ADDED of a watch without resourceVersion).
  await until('the DaemonSet watch is open', () => (d.running.k8s!.ownDaemonSet?.stats.events ?? 0) > 0);
  return { ...p, d, net, file };
}

describe('uninstall that survives RBAC deletion', () => {
  it.each([
    { policy: 'Background', order: 'DaemonSet first' },
    { policy: 'Foreground', order: 'DaemonSet first' },
    { policy: 'Background', order: 'RBAC first' },
  ])('kubectl delete -f ($policy, $order): removed at SIGTERM although the token is refused', async (t) => {
    const { server } = fx.c;
    const node = `un-${t.policy.toLowerCase()}-${t.order === 'RBAC first' ? 'r' : 'd'}`;
    const { d, net, file, token, podName } = await startInstalled(node);
    const k8s = d.running.k8s!;
    if (t.order === 'RBAC first') server.auth.revoke(token); // kustomize's order: ServiceAccount and RBAC first
    server.requestDelete('daemonsets', DS, NS, { propagationPolicy: t.policy });
    server.auth.revoke(token);
    // The garbage collector deletes the DaemonSet's Pods; the kubelet then sends SIGTERM.
    server.requestDelete('pods', podName, NS);
    await until('the watch saw the deletion', () => k8s.ownDaemonSet!.deletion);
    // What ipamd alone could learn now: nothing (401), which used to mean "restart".
    const read = await checkUninstall(k8s.apis, NS, podName);
    expect(read).toMatchObject({ uninstalling: false, why: expect.stringContaining('HTTP 401') as string });
    await stop(d);
    expect(existsSync(file)).toBe(false);
    expect(net.removed).toBe(1);
  });

  it('a rolling update (DaemonSet changed, our Pod deleted) keeps the conflist and the node rules', async () => {
    const { server } = fx.c;
    const { d, net, file, podName } = await startInstalled('un-roll');
    const w = d.running.k8s!.ownDaemonSet!;
    const seen = w.stats.events;
    const restartedAt = { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() };
    server.mutate('daemonsets', DS, (o) => (o.spec = { template: { metadata: { annotations: restartedAt } } }), NS);
    server.requestDelete('pods', podName, NS);
    await until('the watch saw the change', () => w.stats.events > seen);
    await stop(d);
    expect(w.deletion).toBeUndefined();
    expect(existsSync(file)).toBe(true);
    expect(net.removed).toBe(0);
  });

  it('an orphaning delete (--cascade=orphan, to re-create the DaemonSet) keeps the conflist', async () => {
    const { server } = fx.c;
    const { d, net, file } = await startInstalled('un-orphan');
    const w = d.running.k8s!.ownDaemonSet!;
    const seen = w.stats.events;
    server.requestDelete('daemonsets', DS, NS, { propagationPolicy: 'Orphan' });
    await until('the watch saw the orphaning', () => w.stats.events > seen);
    expect(w.deletion).toBeUndefined();
    await stop(d);
    expect(existsSync(file)).toBe(true);
    expect(net.removed).toBe(0);
  });

  it('API server unreachable at stop, nothing seen: any doubt means restart', async () => {
    const { server } = fx.c;
    const { d, net, file } = await startInstalled('un-down');
    await server.refuseConnections();
    try {
      await stop(d);
    } finally {
      await server.acceptConnections();
    }
    expect(existsSync(file)).toBe(true);
    expect(net.removed).toBe(0);
  });

  it('the documented order works by the read alone (an older ipamd, or a Role without watch)', async () => {
    const { server } = fx.c;
    // The watch is refused, as an older Role (get only) refuses it: ipamd learns nothing before SIGTERM.
    const refused = server.faults.add({ path: `/apis/apps/v1/namespaces/${NS}/daemonsets`, watch: true, status: 403 });
    try {
      const p = prepare('un-doc');
      const d = await startK8sDaemon(fx.c, 'un-doc', { dir: p.dir, env: p.env });
      fx.daemons.push(d);
      const net = standInNodeNetwork(d);
      const file = path.join(d.confDir, '10-vpc-ipam.conflist');
      await until('conflist installed', () => existsSync(file));
      await until('the watch was refused', () => refused.hits > 0);
      // 1. kubectl -n kube-system delete daemonset vpc-ipam-node --cascade=foreground --wait=true
      server.requestDelete('daemonsets', DS, NS, { propagationPolicy: 'Foreground' });
      server.requestDelete('pods', p.podName, NS); // the garbage collector; then the kubelet's SIGTERM
      expect(d.running.k8s!.ownDaemonSet!.deletion).toBeUndefined();
      await stop(d);
      expect(existsSync(file)).toBe(false);
      expect(net.removed).toBe(1);
      // 2. kubectl delete -f of the rest: nothing of ours runs any more.
      server.auth.revoke(p.token);
    } finally {
      server.faults.clear();
    }
  });
});
