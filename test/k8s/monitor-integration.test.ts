/**
 * The cluster-wide monitor's entry (`startClusterMonitor`, what
 * `vpc-ipamd monitor` runs) with VPC_IPAM_MONITOR_KUBERNETES=true against the
 * fake API server: it loads ipamd/k8s/monitor-integration through the
 * monitor's own loader, two replicas elect one leader over the Lease, the
 * leader hands over on stop, and node pools come from NodeAddressPools (and,
 * in the upgrade window, Node annotations).
 */
import { parseClusterMonitorConfig } from '../../ipamd/config/cluster-monitor.js';
import { parseMonitorKubernetesSettings } from '../../ipamd/config/monitor-kubernetes.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClusterMonitor, type RunningClusterMonitor } from '../../ipamd/monitor/cluster-run.js';
import { loadKubernetesIntegration } from '../../ipamd/monitor/integration.js';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { SystemClock } from '../../ipamd/util/clock.js';
import { nodeObject, seedSimCloud, startFakeCluster, until, type FakeCluster } from './helpers.js';

let c: FakeCluster;
const running: RunningClusterMonitor[] = [];
beforeAll(async () => {
  c = await startFakeCluster();
});
afterAll(async () => {
  for (const r of running) await r.stop().catch(() => {});
  await c.server.stop();
});

function monitorEnv(stateDir: string, pod: string): NodeJS.ProcessEnv {
  return {
    VPC_IPAM_PROVIDER: 'sim',
    VPC_IPAM_STATE_DIR: stateDir,
    VPC_IPAM_LOG_FILE: path.join(stateDir, `${pod}.log`),
    VPC_IPAM_MONITOR_KUBERNETES: 'true',
    VPC_IPAM_MONITOR_METRICS_ADDRESS: '127.0.0.1:0',
    VPC_IPAM_MONITOR_INTERVAL_SECONDS: '1',
    VPC_IPAM_MONITOR_WINDOW_SECONDS: '60',
    VPC_IPAM_MONITOR_LEASE_DURATION_SECONDS: '3',
    VPC_IPAM_MONITOR_RENEW_DEADLINE_SECONDS: '2',
    VPC_IPAM_MONITOR_RETRY_PERIOD_SECONDS: '1',
    KUBECONFIG: c.kubeconfig,
    MY_POD_NAME: pod,
    POD_NAMESPACE: 'kube-system',
  };
}

async function health(r: RunningClusterMonitor): Promise<{ leader: boolean; identity: string }> {
  return (await (await fetch(`http://127.0.0.1:${r.port}/healthz`)).json()) as { leader: boolean; identity: string };
}

describe('cluster monitor with the Kubernetes integration', () => {
  it('loads through the monitor loader; node pools come from NodeAddressPools and older annotations', async () => {
    const usage = [{ node: 'mon-n1', subnetId: 'subnet-1', total: 20, assigned: 7, observedAt: Date.now() }];
    const annotations = { 'vpc-ipam.io/pool-usage': JSON.stringify(usage) };
    c.server.create('nodes', nodeObject('mon-n1', { annotations }));
    const n2 = c.server.create('nodes', nodeObject('mon-n2'));
    const owner = { apiVersion: 'v1', kind: 'Node', name: 'mon-n2', uid: n2.metadata.uid };
    const subnets = [{ subnetId: 'subnet-1', total: 9, assigned: 2 }];
    const status = { observedAt: new Date().toISOString(), mode: 'ip', subnets };
    c.server.create('nodeaddresspools', { metadata: { name: 'mon-n2', ownerReferences: [owner] }, spec: {}, status });
    const env = monitorEnv('/tmp', 'x');
    const ctx = { settings: parseMonitorKubernetesSettings(env), clock: new SystemClock(), log: silentLogger() };
    const integ = await loadKubernetesIntegration(ctx);
    expect(integ.elector!.identity).toBe('x');
    expect(await integ.usage!.usage()).toEqual([
      expect.objectContaining({ node: 'mon-n2', subnetId: 'subnet-1', total: 9, assigned: 2 }),
      expect.objectContaining({ node: 'mon-n1', subnetId: 'subnet-1', total: 20, assigned: 7 }),
    ]);
    // After the upgrade window: the annotation is no longer read.
    const settings = parseMonitorKubernetesSettings({ ...env, VPC_IPAM_MONITOR_NODE_ANNOTATIONS: 'false' });
    const later = await loadKubernetesIntegration({ ...ctx, settings });
    expect((await later.usage!.usage()).map((u) => u.node)).toEqual(['mon-n2']);
  });

  it('two replicas: one leader, handover when it stops', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mon-'));
    seedSimCloud(dir);
    const a = await startClusterMonitor(parseClusterMonitorConfig(monitorEnv(dir, 'mon-a')), { log: silentLogger() });
    running.push(a);
    await until('a leads', async () => (await health(a)).leader);
    const b = await startClusterMonitor(parseClusterMonitorConfig(monitorEnv(dir, 'mon-b')), { log: silentLogger() });
    running.push(b);
    await until(
      'b campaigned',
      () => c.server.count('GET', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/vpc-ipam-monitor') > 6,
    );
    expect((await health(b)).leader).toBe(false);
    expect(
      (c.server.get('leases', 'vpc-ipam-monitor', 'kube-system').spec as { holderIdentity: string }).holderIdentity,
    ).toBe('mon-a');
    await a.stop();
    running.shift();
    await until('b leads', async () => (await health(b)).leader);
    expect(
      (c.server.get('leases', 'vpc-ipam-monitor', 'kube-system').spec as { holderIdentity: string }).holderIdentity,
    ).toBe('mon-b');
  });
});
