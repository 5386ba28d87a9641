/**
 * The pure parts of the Kubernetes integration, table by table: demand and
 * staleness over Pods and assignments, the planner view of expected demand,
 * config choice, settings validation, providerID matching, the fake server's
 * strategic merge patch.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/daemon-process.js';
import type { Assignment, PoolSnapshot } from '../../ipamd/datastore/types.js';
import { providerIdMatches } from '../../ipamd/k8s/agent.js';
import { expectedDemand, liveUids, staleAssignments } from '../../ipamd/k8s/pod-demand.js';
import { chooseConfig } from '../../ipamd/k8s/pod-subnet-config.js';
import type { PodInfo } from '../../ipamd/k8s/pod-watch.js';
import { parseK8sSettings } from '../../ipamd/config/kubernetes.js';
import { withExpectedDemand } from '../../ipamd/pool/demand.js';
import { planPool } from '../../ipamd/pool/planner.js';
import { strategicMergePatch, MERGE_KEYS } from './fake/patch.js';

const pod = (o: Partial<PodInfo> & { uid: string }): PodInfo => ({
  namespace: 'default',
  name: o.uid,
  phase: 'Pending',
  hostNetwork: false,
  deleting: false,
  ...o,
});
const asg = (containerId: string, pod: Assignment['pod'], assignedAt = 0): Assignment => ({
  network: 'vpc-ipam',
  containerId,
  ifName: 'eth0',
  ip: '10.0.0.9',
  interfaceId: 'eni-1',
  blockCidr: '10.0.0.9/32',
  pod,
  assignedAt,
});

describe('expectedDemand', () => {
  it('counts Pending Pod-network Pods without an address or an assignment', () => {
    const pods = [
      pod({ uid: 'a' }),
      pod({ uid: 'b', hostNetwork: true }),
      pod({ uid: 'c', phase: 'Running' }),
      pod({ uid: 'd', deleting: true }),
      pod({ uid: 'e', podIP: '10.0.0.5' }), // Pending with an IP: init containers running
      pod({ uid: 'f' }), // has an assignment by UID
      pod({ uid: 'g', name: 'named' }), // has an assignment by name only (no UID passed)
      pod({ uid: 'h', staticUid: 'hash-h' }), // mirror Pod, assigned under the static UID
      pod({ uid: 'i' }),
    ];
    const assigned = [
      asg('1', { uid: 'f' }),
      asg('2', { namespace: 'default', name: 'named' }),
      asg('3', { uid: 'hash-h' }),
    ];
    expect(expectedDemand(pods, assigned)).toBe(2);
    expect(expectedDemand([], assigned)).toBe(0);
  });
});

describe('staleAssignments', () => {
  const pods = [pod({ uid: 'live' }), pod({ uid: 'mirror', staticUid: 'static' })];
  it('by UID only, and only for assignments made before the LIST started', () => {
    const list = [
      asg('gone', { uid: 'dead', name: 'web-0', namespace: 'db' }, 100),
      asg('same-name-new', { uid: 'live', name: 'web-0', namespace: 'db' }, 100),
      asg('static', { uid: 'static' }, 100),
      asg('no-uid', { name: 'x' }, 100),
      asg('racing', { uid: 'not-yet-listed' }, 500),
    ];
    expect(staleAssignments(list, pods, 400).map((a) => a.containerId)).toEqual(['gone']);
    expect(staleAssignments(list, pods, 600).map((a) => a.containerId)).toEqual(['gone', 'racing']);
    expect([...liveUids(pods)].sort()).toEqual(['live', 'mirror', 'static']);
  });

  it('Succeeded and Failed Pods are gone (sandbox torn down); a Pod being deleted is not', () => {
    const listed = [
      pod({ uid: 'done', phase: 'Succeeded' }),
      pod({ uid: 'failed', phase: 'Failed', staticUid: 'failed-static' }),
      pod({ uid: 'terminating', phase: 'Running', deleting: true }),
    ];
    const list = ['done', 'failed-static', 'terminating'].map((uid) => asg(uid, { uid }, 100));
    expect(staleAssignments(list, listed, 400).map((a) => a.containerId)).toEqual(['done', 'failed-static']);
  });
});

describe('withExpectedDemand (planner view)', () => {
  const snap = (available: number, total: number, waiting = 0): PoolSnapshot => ({
    now: 0,
    mode: 'ip',
    blockSize: 1,
    total,
    assigned: total - available,
    cooling: 0,
    available,
    nextCoolingExpiry: undefined,
    interfaces: [
      {
        id: 'eni-0',
        deviceIndex: 0,
        subnetId: 's',
        primary: true,
        usable: true,
        createdAt: 0,
        slotsUsed: total,
        blocks: total,
        addresses: total,
        assigned: total - available,
        cooling: 0,
        freeBlocks: [],
        staleBlocks: [],
        staleAssigned: 0,
      },
    ],
    waiting,
  });
  const limits = { maxInterfaces: 3, slotsPerInterface: 9, canCreateInterfaces: true };
  const warmIp = { warmInterfaces: 1, warmIps: 1, minimumIps: 0, warmPrefixes: 0 };

  it('is the identity with no demand', () => {
    const s = snap(3, 5);
    expect(withExpectedDemand(s, 0)).toBe(s);
  });

  it('warm-IP mode grows by expected − free + warm', () => {
    expect(planPool(withExpectedDemand(snap(2, 5), 6), warmIp, limits).shortAddresses).toBe(5);
    expect(planPool(withExpectedDemand(snap(8, 8), 6), warmIp, limits).shortAddresses).toBe(0);
  });

  it('warm-interface mode goes low when the expected Pods would empty the pool', () => {
    const t = { warmInterfaces: 0, warmIps: 0, minimumIps: 0, warmPrefixes: 0 };
    expect(planPool(snap(4, 4), t, limits).shortAddresses).toBe(0);
    expect(planPool(withExpectedDemand(snap(4, 4), 7), t, limits).shortAddresses).toBeGreaterThanOrEqual(3);
  });

  it('keeps ADDs already waiting as the floor', () => {
    expect(withExpectedDemand(snap(0, 4, 3), 1).waiting).toBe(3);
  });
});

describe('chooseConfig', () => {
  it('label, then annotation, then the zone default', () => {
    const zone = { 'topology.kubernetes.io/zone': 'z1' };
    expect(
      chooseConfig({
        labels: { ...zone, 'vpc-ipam.io/pod-subnet-config': 'l' },
        annotations: { 'vpc-ipam.io/pod-subnet-config': 'a' },
      }),
    ).toEqual({ name: 'l', source: 'label', required: true });
    expect(chooseConfig({ labels: zone, annotations: { 'vpc-ipam.io/pod-subnet-config': 'a' } })).toEqual({
      name: 'a',
      source: 'annotation',
      required: true,
    });
    expect(chooseConfig({ labels: zone })).toEqual({ name: 'z1', source: 'zone', required: false });
    expect(chooseConfig({})).toBeUndefined();
    expect(
      chooseConfig({ labels: { 'k8s.amazonaws.com/eniConfig': 'x' } }, 'k8s.amazonaws.com/eniConfig'),
    ).toMatchObject({ name: 'x', source: 'label' });
  });
});

describe('parseK8sSettings', () => {
  it('names the bad variable', () => {
    expect(() => parseK8sSettings({})).toThrow(/MY_NODE_NAME/);
    expect(() => parseK8sSettings({ MY_NODE_NAME: 'Bad_Name' })).toThrow(
      /MY_NODE_NAME: "Bad_Name" is not a valid Node name/,
    );
    expect(() => parseK8sSettings({ MY_NODE_NAME: 'n', VPC_IPAM_POD_SUBNET_CONFIG_KEY: 'a b' })).toThrow(
      /VPC_IPAM_POD_SUBNET_CONFIG_KEY/,
    );
    expect(() => parseK8sSettings({ MY_NODE_NAME: 'n', VPC_IPAM_K8S_REAP_CONFIRM_SECONDS: '0' })).toThrow(
      /VPC_IPAM_K8S_REAP_CONFIRM_SECONDS/,
    );
    expect(() => parseK8sSettings({ MY_NODE_NAME: 'n', VPC_IPAM_CUSTOM_NETWORKING: 'maybe' })).toThrow(
      /VPC_IPAM_CUSTOM_NETWORKING/,
    );
    expect(
      parseK8sSettings({ MY_NODE_NAME: 'ip-10-0-0-1.ec2.internal', AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true' }),
    ).toMatchObject({ customNetworking: true, namespace: 'default', reapIntervalMs: 300_000 });
  });
});

describe('providerIdMatches', () => {
  it('accepts the instance as a path segment of the providerID', () => {
    expect(providerIdMatches('aws:///us-east-1a/i-0abc', 'i-0abc')).toBe(true);
    expect(providerIdMatches('aws:///us-east-1a/i-0abcd', 'i-0abc')).toBe(false);
    expect(providerIdMatches('gce://proj/us-central1-a/node-1', 'node-1')).toBe(true);
    expect(
      providerIdMatches(
        'azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-1',
        '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-1',
      ),
    ).toBe(true);
  });
});

describe('fake server strategic merge patch', () => {
  it('merges conditions by type, honours $patch: delete, replaces unkeyed lists', () => {
    const node = {
      status: {
        conditions: [
          { type: 'Ready', status: 'True' },
          { type: 'X', status: 'True' },
        ],
        images: [{ names: ['a'] }],
      },
    };
    const out = strategicMergePatch(
      node,
      {
        status: {
          conditions: [
            { type: 'X', $patch: 'delete' },
            { type: 'Y', status: 'False' },
          ],
          images: [{ names: ['b'] }],
        },
      },
      MERGE_KEYS.nodes!,
    );
    expect(out).toEqual({
      status: {
        conditions: [
          { type: 'Ready', status: 'True' },
          { type: 'Y', status: 'False' },
        ],
        images: [{ names: ['b'] }],
      },
    });
  });
});

describe('lazy Kubernetes client', () => {
  /** Bare packages reachable from `entry` through static (non-type) imports, following relative files. */
  function staticPackages(entry: string): Set<string> {
    const seen = new Set<string>();
    const pkgs = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?\s+from\s+'([^']+)'/gms)) {
        const spec = m[1]!;
        if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
        else pkgs.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    };
    visit(entry);
    return pkgs;
  }

  it('the daemon entry does not load @kubernetes/client-node unless MY_NODE_NAME is set (dynamic import)', () => {
    expect(staticPackages(path.join(REPO, 'ipamd/main.ts')).has('@kubernetes/client-node')).toBe(false);
    expect(staticPackages(path.join(REPO, 'ipamd/k8s/agent.ts')).has('@kubernetes/client-node')).toBe(true);
    expect(readFileSync(path.join(REPO, 'ipamd/run.ts'), 'utf8')).toMatch(/await import\('\.\/k8s\/agent\.js'\)/);
  });
});
