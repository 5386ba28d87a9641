/**
 * The manifests, offline: each overlay renders with `kubectl kustomize`;
 * every object validates against the Kubernetes schemas (kubernetes-models,
 * and the Prometheus Operator's for ServiceMonitor/PrometheusRule), example
 * PodSubnetConfigs and ipamd's NodeAddressPool status against their CRDs'
 * own schemas; the security rules hold (no
 * privileged container at all, named capabilities only, node resolver); RBAC is
 * exactly what the code calls; the settings parse; the alert rules pass
 * `promtool check rules`; the dashboard only queries metrics the code exports.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseConfig } from '../../ipamd/config.js';
import { conflistOptionsFromEnv } from '../../ipamd/config/conflist.js';
import { CRD_GROUP, CRD_VERSION, NAP_CRD_NAME, NAP_KIND, NAP_PLURAL } from '../../ipamd/k8s/names.js';
import { PSC_KIND, PSC_PLURAL } from '../../ipamd/k8s/names.js';
import { poolStatus, usageFromAddressPool } from '../../ipamd/k8s/node-address-pool.js';
import { parsePodSubnetConfig } from '../../ipamd/k8s/pod-subnet-config.js';
import { parseK8sSettings } from '../../ipamd/config/kubernetes.js';
import { REPO } from '../helpers/daemon-process.js';
import { crdValidator, servedPoolCrd } from '../k8s/helpers.js';
import { find, kubectlProblem, OVERLAYS, parseYamlFile, render, type Obj } from './render.js';

const problem = kubectlProblem();
if (problem) throw new Error(`cannot render the manifests: ${problem}`);

async function model(o: Obj): Promise<{ validate(): void }> {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const mod =
    group === 'monitoring.coreos.com'
      ? await import(/* @vite-ignore */ `@kubernetes-models/prometheus-operator/${group}/${version}/${o.kind}`)
      : await import(/* @vite-ignore */ `kubernetes-models/${group ? `${group}/` : ''}${version}/${o.kind}`);
  const Cls = mod[o.kind] as new (x: unknown) => { validate(): void };
  return new Cls(o);
}

type Container = {
  name: string;
  securityContext?: {
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
  };
  env?: Array<{ name: string; value?: string }>;
  envFrom?: unknown[];
};
type PodSpec = {
  containers: Container[];
  initContainers?: Container[];
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  volumes?: Array<{ name: string; hostPath?: { path: string } }>;
};
const podSpec = (o: Obj) => (o.spec as { template: { spec: PodSpec } }).template.spec;

/** Capabilities a long-running container may be given, and why (mirrors the comments in daemonset.yaml). */
const ALLOWED_CAPS = new Set(['NET_ADMIN', 'SYS_ADMIN', 'NET_RAW']);

const rendered = Object.fromEntries(OVERLAYS.map((o) => [o, render(o)])) as Record<(typeof OVERLAYS)[number], Obj[]>;

describe.each(OVERLAYS)('overlay %s', (overlay) => {
  const objs = rendered[overlay];

  it('renders the full set of objects in one namespace', () => {
    const kinds = objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds).toEqual(
      [
        'ClusterRole/vpc-ipam-monitor',
        'ClusterRole/vpc-ipam-node',
        'ClusterRoleBinding/vpc-ipam-monitor',
        'ClusterRoleBinding/vpc-ipam-node',
        'ConfigMap/vpc-ipam-config',
        'ConfigMap/vpc-ipam-dashboard',
        'CustomResourceDefinition/nodeaddresspools.vpc-ipam.io',
        'CustomResourceDefinition/podsubnetconfigs.vpc-ipam.io',
        'DaemonSet/vpc-ipam-node',
        'Deployment/vpc-ipam-monitor',
        'PrometheusRule/vpc-ipam',
        'Role/vpc-ipam-monitor',
        'Role/vpc-ipam-node',
        'RoleBinding/vpc-ipam-monitor',
        'RoleBinding/vpc-ipam-node',
        'Service/vpc-ipam-monitor-metrics',
        'Service/vpc-ipam-node-metrics',
        'ServiceAccount/vpc-ipam-monitor',
        'ServiceAccount/vpc-ipam-node',
        'ServiceMonitor/vpc-ipam',
      ].sort(),
    );
    const namespaced = objs.filter(
      (o) => !['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition'].includes(o.kind),
    );
    expect(new Set(namespaced.map((o) => o.metadata.namespace))).toEqual(new Set(['kube-system']));
    for (const b of objs.filter((o) => o.kind.endsWith('Binding'))) {
      for (const s of b.subjects as Array<{ namespace: string }>) expect(s.namespace).toBe('kube-system');
    }
  });

  it('every object validates against its Kubernetes schema', async () => {
    for (const o of objs) {
      const m = await model(o);
      expect(() => m.validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
    }
    // The validators do catch mistakes: a port as a string, a misspelt probe field.
    const bad = structuredClone(find(objs, 'DaemonSet', 'vpc-ipam-node'));
    (podSpec(bad).containers[0] as unknown as { ports: Array<{ containerPort: unknown }> }).ports[0]!.containerPort =
      'metrics';
    await expect(model(bad).then((m) => m.validate())).rejects.toThrow();
  });

  it('no container is privileged; every container gets named capabilities only; the node resolver', () => {
    for (const o of objs.filter((x) => x.kind === 'DaemonSet' || x.kind === 'Deployment')) {
      const spec = podSpec(o);
      expect(spec.hostPID ?? false).toBe(false);
      expect(spec.hostIPC ?? false).toBe(false);
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
        const sc = c.securityContext ?? {};
        expect(sc.privileged ?? false, `${o.metadata.name}/${c.name}`).toBe(false);
        expect(sc.allowPrivilegeEscalation, `${o.metadata.name}/${c.name}`).toBe(false);
        expect(sc.capabilities?.drop).toEqual(['ALL']);
        for (const cap of sc.capabilities?.add ?? []) expect(ALLOWED_CAPS.has(cap), `${c.name}: ${cap}`).toBe(true);
      }
    }
    const ds = podSpec(find(objs, 'DaemonSet', 'vpc-ipam-node'));
    expect(ds.hostNetwork).toBe(true);
    // CoreDNS gets its address from ipamd: ipamd must not depend on it.
    expect((ds as { dnsPolicy?: string }).dnsPolicy).toBe('Default');
    const init = ds.initContainers!.find((c) => c.name === 'install-cni')!;
    expect(init.securityContext!.capabilities!.add).toEqual(['NET_ADMIN']);
    expect(init.env).toContainEqual({ name: 'PROC_SYS', value: '/host/proc/sys' });
    const caps = ds.containers.find((c) => c.name === 'ipamd')!.securityContext!.capabilities!.add;
    expect(caps).toEqual(['NET_ADMIN', 'SYS_ADMIN', 'NET_RAW']);
    expect(podSpec(find(objs, 'Deployment', 'vpc-ipam-monitor')).hostNetwork ?? false).toBe(false);
    expect(new Set(ds.volumes!.map((v) => v.hostPath?.path))).toEqual(
      new Set([
        '/run/vpc-ipam',
        '/etc/cni/net.d',
        '/opt/cni/bin',
        '/run/netns',
        '/run/xtables.lock',
        '/proc/sys/net',
        '/var/log/vpc-ipam',
      ]),
    );
    const mounts = (c: Container) =>
      (c as unknown as { volumeMounts: Array<{ name: string; readOnly?: boolean }> }).volumeMounts;
    const ipamdMounts = mounts(ds.containers.find((c) => c.name === 'ipamd')!);
    expect(ipamdMounts.find((m) => m.name === 'netns')!.readOnly).toBe(true);
    expect(ipamdMounts.some((m) => m.name === 'proc-sys-net')).toBe(false);
  });

  it('probes hit the loopback introspection port the ConfigMap sets; settings parse', () => {
    const cm = find(objs, 'ConfigMap', 'vpc-ipam-config').data as Record<string, string>;
    const ipamd = podSpec(find(objs, 'DaemonSet', 'vpc-ipam-node')).containers.find(
      (c) => c.name === 'ipamd',
    ) as Container & { readinessProbe: { httpGet: { host: string; port: number; path: string } } };
    expect(ipamd.readinessProbe.httpGet).toEqual({
      host: '127.0.0.1',
      port: Number(cm.INTROSPECTION_BIND_ADDRESS!.split(':')[1]),
      path: '/readyz',
    });
    // Readiness includes persisting; liveness does not (a restart does not fix a read-only state dir).
    const live = (ipamd as unknown as { livenessProbe: { httpGet: { host: string; path: string } } }).livenessProbe;
    expect(live.httpGet).toMatchObject({ host: '127.0.0.1', path: '/livez' });
    const env = {
      ...cm,
      MY_NODE_NAME: 'ip-10-0-0-1.ec2.internal',
      MY_POD_NAME: 'vpc-ipam-node-abcde',
      POD_NAMESPACE: 'kube-system',
      // What the kubelet sets in every Pod: the API server the in-cluster connection uses.
      KUBERNETES_SERVICE_HOST: '10.100.0.1',
    };
    const config = parseConfig(env);
    expect(config.provider).toBe(overlay);
    expect(parseK8sSettings(env)).toMatchObject({ confDir: '/host/etc/cni/net.d', binDir: '/host/opt/cni/bin' });
    expect(conflistOptionsFromEnv(env, config.socketPath, config.addWaitMs).chain).toEqual(['portmap']);
    // The socket ipamd serves is on the hostPath the plugin (on the host) uses.
    expect(path.dirname(config.socketPath)).toBe('/run/vpc-ipam');
  });

  it('RBAC is exactly what the code calls, without wildcards', () => {
    const rules = (kind: string, name: string) =>
      (
        find(objs, kind, name).rules as Array<{
          apiGroups: string[];
          resources: string[];
          verbs: string[];
          resourceNames?: string[];
        }>
      ).map(
        (r) =>
          `${r.apiGroups.join(',')}|${r.resources.join(',')}|${r.verbs.join(',')}` +
          `${r.resourceNames ? `|${r.resourceNames.join(',')}` : ''}`,
      );
    expect(rules('ClusterRole', 'vpc-ipam-node')).toEqual([
      '|nodes|get,patch',
      '|nodes/status|patch',
      '|pods|list,watch',
      `${CRD_GROUP}|${PSC_PLURAL}|get`,
      // The AWS VPC CNI's ENIConfig, under custom networking (its CRD is aws-node's, never shipped here).
      'crd.k8s.amazonaws.com|eniconfigs|get',
      `${CRD_GROUP}|${NAP_PLURAL}|create`,
      `${CRD_GROUP}|${NAP_PLURAL}/status|patch`,
    ]);
    expect(rules('Role', 'vpc-ipam-node')).toEqual([
      '|events|create,patch',
      '|pods|get',
      'apps|daemonsets|get,watch|vpc-ipam-node',
    ]);
    expect(rules('ClusterRole', 'vpc-ipam-monitor')).toEqual([`${CRD_GROUP}|${NAP_PLURAL}|list`, '|nodes|list']);
    expect(rules('Role', 'vpc-ipam-monitor')).toEqual([
      'coordination.k8s.io|leases|create',
      'coordination.k8s.io|leases|get,update|vpc-ipam-monitor',
    ]);
  });
});

describe('cloud identities: one per workload', () => {
  const annotations = (overlay: (typeof OVERLAYS)[number], sa: string) =>
    find(rendered[overlay], 'ServiceAccount', sa).metadata.annotations ?? {};
  it('AWS: a role per service account', () => {
    const node = annotations('aws', 'vpc-ipam-node')['eks.amazonaws.com/role-arn'];
    const monitor = annotations('aws', 'vpc-ipam-monitor')['eks.amazonaws.com/role-arn'];
    expect(node).toMatch(/:role\/vpc-ipam-node$/);
    expect(monitor).toMatch(/:role\/vpc-ipam-monitor$/);
  });
  it('Azure: an identity per service account, both pods labelled for Workload Identity', () => {
    const id = (sa: string) => annotations('azure', sa)['azure.workload.identity/client-id'];
    expect(id('vpc-ipam-node')).toBeDefined();
    expect(id('vpc-ipam-monitor')).toBeDefined();
    expect(id('vpc-ipam-node')).not.toBe(id('vpc-ipam-monitor'));
    for (const [kind, name] of [
      ['DaemonSet', 'vpc-ipam-node'],
      ['Deployment', 'vpc-ipam-monitor'],
    ] as const) {
      const labels = (
        find(rendered.azure, kind, name).spec as { template: { metadata: { labels: Record<string, string> } } }
      ).template.metadata.labels;
      expect(labels['azure.workload.identity/use']).toBe('true');
    }
  });
  it('GCP: Workload Identity only for the monitor (it does not apply to the hostNetwork DaemonSet)', () => {
    expect(annotations('gcp', 'vpc-ipam-node')['iam.gke.io/gcp-service-account']).toBeUndefined();
    expect(annotations('gcp', 'vpc-ipam-monitor')['iam.gke.io/gcp-service-account']).toMatch(/^vpc-ipam-monitor@/);
  });
});

describe('CRD and examples', () => {
  const crd = find(rendered.aws, 'CustomResourceDefinition', 'podsubnetconfigs.vpc-ipam.io') as Obj & {
    spec: { group: string; scope: string; names: { kind: string; plural: string }; versions: Array<{ name: string }> };
  };

  it('matches the names the daemon uses', () => {
    expect(crd.spec).toMatchObject({
      group: CRD_GROUP,
      scope: 'Cluster',
      names: { kind: PSC_KIND, plural: PSC_PLURAL },
    });
    expect(crd.spec.versions.map((v) => v.name)).toEqual([CRD_VERSION]);
  });

  it('example configs pass the CRD schema and the daemon parser; bad ones fail both', () => {
    const validate = crdValidator();
    for (const ex of parseYamlFile('deploy/examples/podsubnetconfig.yaml')) {
      expect(validate(ex as never), ex.metadata.name).toBeUndefined();
      expect(() => parsePodSubnetConfig(ex)).not.toThrow();
    }
    const bad = {
      apiVersion: 'vpc-ipam.io/v1alpha1',
      kind: 'PodSubnetConfig',
      metadata: { name: 'x' },
      spec: { subnetIds: ['a'], subnet: 'b' },
    };
    expect(validate(bad as never)).toBeDefined();
    expect(() => parsePodSubnetConfig(bad)).toThrow();
  });
});

describe('NodeAddressPool CRD', () => {
  type Crd = Obj & {
    spec: {
      group: string;
      scope: string;
      names: { kind: string; plural: string };
      versions: Array<{ name: string; subresources?: { status?: object } }>;
    };
  };
  const crd = find(rendered.aws, 'CustomResourceDefinition', NAP_CRD_NAME) as Crd;

  it('matches the names the daemon uses, with the status subresource', () => {
    const names = { kind: NAP_KIND, plural: NAP_PLURAL };
    expect(crd.spec).toMatchObject({ group: CRD_GROUP, scope: 'Cluster', names });
    expect(crd.spec.versions.map((v) => [v.name, v.subresources?.status])).toEqual([[CRD_VERSION, {}]]);
  });

  it('what ipamd publishes passes the schema, and reads back as what it was made from', () => {
    const usage = [
      { node: 'n1', subnetId: 'subnet-a', total: 20, assigned: 7, warmTarget: 4, mode: 'ip' as const, observedAt: 1 },
      { node: 'n1', subnetId: 'subnet-b', total: 10, assigned: 1, mode: 'ip' as const, observedAt: 1 },
    ];
    const totals = { mode: 'ip' as const, total: 30, assigned: 8, available: 22, cooling: 0, expectedPods: 1 };
    const obj = {
      apiVersion: `${CRD_GROUP}/${CRD_VERSION}`,
      kind: NAP_KIND,
      metadata: { name: 'n1' },
      spec: {},
      status: poolStatus(usage, { ...totals, maxPods: 29 }, 1),
    };
    expect(servedPoolCrd().validate(obj as never)).toBeUndefined();
    expect(usageFromAddressPool(obj)).toEqual({ node: 'n1', usage, observedAt: 1 });
    const bad = { ...obj, status: { ...obj.status, subnets: [{ subnetId: 'x', total: 1, assigned: 2 }] } };
    expect(() => usageFromAddressPool(bad)).toThrow(/node n1: NodeAddressPool\/n1 status invalid at 0: assigned exc/);
  });
});

describe('alert rules and dashboard', () => {
  it('promtool checks the PrometheusRule included in the base', () => {
    const rule = find(rendered.aws, 'PrometheusRule', 'vpc-ipam') as Obj & { spec: { groups: unknown[] } };
    const dir = mkdtempSync(path.join(tmpdir(), 'rules-'));
    const file = path.join(dir, 'rules.yaml');
    writeFileSync(file, YAML.stringify({ groups: rule.spec.groups }));
    const out = execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('the dashboard queries only metrics the code exports, and covers pool and subnet headroom', () => {
    const dash = JSON.parse(readFileSync(path.join(REPO, 'deploy/grafana/vpc-ipam.json'), 'utf8')) as {
      uid: string;
      panels: Array<{ targets?: Array<{ expr: string }> }>;
    };
    const exprs = dash.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    const used = new Set(
      exprs.flatMap((e) => e.match(/vpc_ipam_[a-z_]+/g) ?? []).map((m) => m.replace(/_(bucket|count|sum)$/, '')),
    );
    const exported = new Set<string>();
    const walk = (dir: string) => {
      for (const f of readdirSync(path.join(REPO, dir), { withFileTypes: true })) {
        if (f.isDirectory()) walk(path.join(dir, f.name));
        else if (f.name.endsWith('.ts'))
          for (const m of readFileSync(path.join(REPO, dir, f.name), 'utf8').matchAll(/name: '(vpc_ipam_[a-z_]+)'/g))
            exported.add(m[1]!);
      }
    };
    walk('ipamd');
    for (const m of used) expect(exported.has(m), m).toBe(true);
    for (const m of [
      'vpc_ipam_pool_addresses',
      'vpc_ipam_cloud_calls_total',
      'vpc_ipam_add_latency_seconds',
      'vpc_ipam_subnet_free_addresses',
      'vpc_ipam_subnet_free_prefix_blocks',
      'vpc_ipam_subnet_exhaustion_eta_seconds',
      'vpc_ipam_pool_growth_blocked',
    ]) {
      expect(used.has(m), m).toBe(true);
    }
    const cm = find(rendered.gcp, 'ConfigMap', 'vpc-ipam-dashboard') as Obj & { data: Record<string, string> };
    expect(JSON.parse(cm.data['vpc-ipam.json']!).uid).toBe(dash.uid);
    expect(cm.metadata.labels!.grafana_dashboard).toBe('1');
  });
});

describe('Dockerfile', () => {
  it('builds the daemon and the standalone plugin, and ships what the DaemonSet runs', () => {
    const df = readFileSync(path.join(REPO, 'deploy/Dockerfile'), 'utf8');
    expect(df).toMatch(/^ARG NODE_IMAGE=node:(20|22|24)-bookworm-slim$/m);
    expect(df.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(3);
    expect(df).toContain('npm run build:cni');
    // The runtime stage (after the last FROM) installs iptables: the daemon writes the node's SNAT rules.
    expect(df.slice(df.lastIndexOf('\nFROM '))).toMatch(/apt-get install -y --no-install-recommends iptables\b/);
    // The shim (its own stage, a compiler there) as vpc-ipam, the single executable beside it (docs/cni.md).
    expect(df).toContain('COPY --from=shim /out/vpc-ipam /opt/vpc-ipam/cni/vpc-ipam');
    expect(df).toContain('COPY --from=build /src/plugin/vpc-ipam-node /opt/vpc-ipam/cni/vpc-ipam-node');
    const ds = podSpec(find(rendered.aws, 'DaemonSet', 'vpc-ipam-node')) as PodSpec & {
      initContainers: Array<{ command: string[] }>;
    };
    expect(df).toContain(`COPY deploy/scripts/install-cni.sh ${ds.initContainers[0]!.command[0]}`);
    for (const m of df.matchAll(/^COPY (?!--from)(.+) \S+$/gm))
      for (const src of m[1]!.split(' ')) expect(existsSync(path.join(REPO, src)), src).toBe(true);
  });
});
