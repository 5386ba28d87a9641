/**
 * Least privilege, checked both ways against what the code really does: the
 * node daemon and the cluster monitor run against the fake API server, every
 * request they make is mapped to (group, resource, verb, namespace, name),
 * and it must be allowed by the rendered Role/ClusterRole of its service
 * account; and every rule the manifests grant must have been used.
 */
import { parseMonitorKubernetesSettings } from '../../ipamd/config/monitor-kubernetes.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMonitorIntegration } from '../../ipamd/k8s/monitor-integration.js';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { SystemClock } from '../../ipamd/util/clock.js';
import type { RequestRecord } from '../k8s/fake-apiserver.js';
import { add, del, ipOf, startK8sDaemon } from '../k8s/daemon-harness.js';
import { nodeObject, podObject, seedSimCloud, startFakeCluster, until } from '../k8s/helpers.js';
import { find, parseYamlFile, render, type Obj } from './render.js';

interface Access {
  group: string;
  resource: string;
  verb: string;
  namespace?: string;
  name?: string;
}

function access(r: RequestRecord): Access {
  const segs = r.path.split('/').filter(Boolean);
  const [group, rest] = segs[0] === 'api' ? ['', segs.slice(2)] : [segs[1]!, segs.slice(3)];
  let namespace: string | undefined;
  let parts = rest;
  if (parts[0] === 'namespaces' && parts.length >= 3) {
    namespace = parts[1];
    parts = parts.slice(2);
  }
  const [res, pathName, sub] = parts;
  // A list or watch with fieldSelector metadata.name=<n> is authorised as a request for <n> (resourceNames rules):
  // apiserver's RequestInfoFactory sets the name from that selector.
  const byField = /^metadata\.name=([^,]+)$/.exec(r.query.fieldSelector ?? '')?.[1];
  const name = pathName ?? (r.method === 'GET' ? byField : undefined);
  const verb =
    r.method === 'GET'
      ? pathName
        ? 'get'
        : r.query.watch === 'true'
          ? 'watch'
          : 'list'
      : ({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[r.method]!;
  return {
    group,
    resource: sub ? `${res}/${sub}` : res!,
    verb,
    ...(namespace ? { namespace } : {}),
    ...(name ? { name } : {}),
  };
}

/** The grant components/annotate-pod-ip adds to the node's, with the variable. */
const ANNOTATE_RBAC = 'deploy/kustomize/components/annotate-pod-ip/rbac.yaml';

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };

function allowedBy(a: Access, rules: Array<{ rule: Rule; namespace?: string }>): Array<{ rule: Rule; verb: string }> {
  return rules
    .filter(
      ({ rule, namespace }) =>
        (namespace === undefined || namespace === a.namespace) &&
        rule.apiGroups.includes(a.group) &&
        rule.resources.includes(a.resource) &&
        rule.verbs.includes(a.verb) &&
        (!rule.resourceNames || (a.name !== undefined && rule.resourceNames.includes(a.name))),
    )
    .map(({ rule }) => ({ rule, verb: a.verb }));
}

function rulesOf(objs: Obj[], name: string): Array<{ rule: Rule; namespace?: string }> {
  const cluster = (find(objs, 'ClusterRole', name).rules as Rule[]).map((rule) => ({ rule }));
  const role = find(objs, 'Role', name);
  return [...cluster, ...(role.rules as Rule[]).map((rule) => ({ rule, namespace: role.metadata.namespace! }))];
}

function check(requests: RequestRecord[], rules: Array<{ rule: Rule; namespace?: string }>) {
  const used = new Set<string>();
  for (const r of requests) {
    const a = access(r);
    const by = allowedBy(a, rules);
    expect(by.length, `${r.method} ${r.path} (${JSON.stringify(a)}) is not allowed by the manifests`).toBeGreaterThan(
      0,
    );
    for (const b of by) used.add(`${JSON.stringify(b.rule)}|${b.verb}`);
  }
  for (const { rule } of rules)
    for (const verb of rule.verbs)
      expect(
        used.has(`${JSON.stringify(rule)}|${verb}`),
        `granted but never used: ${verb} ${rule.resources.join(',')}`,
      ).toBe(true);
}

describe('RBAC against real usage', () => {
  const objs = render('aws');

  it('the node daemon uses exactly what vpc-ipam-node grants', async () => {
    const c = await startFakeCluster();
    try {
      const dir = mkdtempSync(path.join(tmpdir(), 'rbac-'));
      const cloud = seedSimCloud(path.join(dir, 'state'), { pods: '10.0.8.0/24' });
      c.server.create(
        'nodes',
        // No PodSubnetConfig named yet: under custom networking the node's ENIConfig is read (its CRD absent here).
        nodeObject('rb-1', { providerID: `aws:///${cloud.zone}/${cloud.instanceId}` }),
      );
      const ds = c.server.create('daemonsets', { metadata: { name: 'vpc-ipam-node' }, spec: {} }, 'kube-system');
      c.server.create(
        'pods',
        {
          metadata: {
            name: 'vpc-ipam-node-rb',
            ownerReferences: [
              { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'vpc-ipam-node', uid: ds.metadata.uid },
            ],
          },
          spec: { nodeName: 'rb-1', hostNetwork: true, containers: [] },
        },
        'kube-system',
      );
      c.server.create('pods', podObject({ name: 'pending', nodeName: 'rb-1' }), 'default');
      c.server.requests.length = 0;
      const d = await startK8sDaemon(c, 'rb-1', {
        dir,
        env: {
          MY_POD_NAME: 'vpc-ipam-node-rb',
          POD_NAMESPACE: 'kube-system',
          VPC_IPAM_K8S_EVENT_INTERVAL_SECONDS: '0',
          VPC_IPAM_CUSTOM_NETWORKING: 'true',
          VPC_IPAM_K8S_REAP_INTERVAL_SECONDS: '1',
          VPC_IPAM_K8S_REAP_CONFIRM_SECONDS: '1',
          // What components/annotate-pod-ip sets, with the grant it adds (checked below with the base's).
          ANNOTATE_POD_IP: 'true',
        },
      });
      // No config at all: repeated PoolGrowthFailed Events (create, then patch to aggregate).
      await until(
        'an aggregated Event',
        () => c.server.requests.some((r) => r.method === 'PATCH' && r.path.includes('/events/')),
        30_000,
      );
      c.server.mutate('nodes', 'rb-1', (o) => {
        (o.metadata as { labels: Record<string, string> }).labels['vpc-ipam.io/pod-subnet-config'] = 'later';
      });
      c.server.create('podsubnetconfigs', { metadata: { name: 'later' }, spec: { subnetIds: [cloud.subnets.pods] } });
      await until(
        'conflist and publication',
        () =>
          d.running.k8s!.conflistInstalledAt !== undefined && c.server.count('PATCH', '/api/v1/nodes/rb-1/status') > 0,
        30_000,
      );
      await until('a reaper pass', () => (d.running.k8s!.reaper!.stats.passes ?? 0) > 1, 30_000);
      // ANNOTATE_POD_IP: the Pod's annotation patched on ADD and on DEL.
      ipOf(await add(d, 'c-pending', { namespace: 'default', name: 'pending' }));
      await del(d, 'c-pending');
      await d.running.stop(); // uninstall check: own Pod, DaemonSet (read, and the watch kept on it)
      const annotate = find(parseYamlFile(ANNOTATE_RBAC), 'ClusterRole', 'vpc-ipam-node-pod-ips');
      check(c.server.requests, [
        ...rulesOf(objs, 'vpc-ipam-node'),
        ...(annotate.rules as Rule[]).map((rule) => ({ rule })),
      ]);
    } finally {
      await c.server.stop();
    }
  });

  it('the cluster monitor uses exactly what vpc-ipam-monitor grants', async () => {
    const c = await startFakeCluster();
    try {
      c.server.create('nodes', nodeObject('rb-m'));
      c.server.requests.length = 0;
      const integ = await createMonitorIntegration({
        settings: parseMonitorKubernetesSettings({
          KUBECONFIG: c.kubeconfig,
          POD_NAMESPACE: 'kube-system',
          MY_POD_NAME: 'mon-1',
          VPC_IPAM_MONITOR_LEASE_DURATION_SECONDS: '3',
          VPC_IPAM_MONITOR_RENEW_DEADLINE_SECONDS: '2',
          VPC_IPAM_MONITOR_RETRY_PERIOD_SECONDS: '1',
        }),
        clock: new SystemClock(),
        log: silentLogger(),
      });
      const ac = new AbortController();
      let renewed = false;
      const run = integ.elector!.run(ac.signal, {
        onStartedLeading: async (lost) => {
          await integ.usage!.usage();
          await until(
            'a renewal',
            () =>
              c.server.count('PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/vpc-ipam-monitor') > 0,
          );
          renewed = true;
          await new Promise<void>((r) => lost.addEventListener('abort', () => r(), { once: true }));
        },
      });
      await until('leading and renewed', () => renewed);
      ac.abort();
      await run;
      check(c.server.requests, rulesOf(objs, 'vpc-ipam-monitor'));
    } finally {
      await c.server.stop();
    }
  });
});
