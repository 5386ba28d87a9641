/**
 * The optional ValidatingAdmissionPolicies (deploy/kustomize/components/node-admission-policy), for Nodes and
 * for NodeAddressPools: rendered by kubectl kustomize, valid against the Kubernetes schema, and their CEL
 * evaluated (a CEL implementation, the way kube-apiserver applies a policy: match conditions, variables, then
 * every validation) against the writes our daemon makes and the ones a stolen node token could try.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { evaluate } from '@marcbachmann/cel-js';
import {
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
} from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { MAX_PODS_KEY, POOL_EXHAUSTED_CONDITION, POOL_USAGE_ANNOTATION } from '../../ipamd/k8s/names.js';
import { REPO } from '../helpers/daemon-process.js';
import { find, render, type Obj } from './render.js';

interface Expr {
  name?: string;
  expression: string;
  message?: string;
  messageExpression?: string;
}
interface PolicySpec {
  matchConditions: Expr[];
  variables: Expr[];
  validations: Expr[];
}

const DIR = path.join(REPO, 'deploy/kustomize/components/node-admission-policy');
const objs = YAML.parseAllDocuments(execFileSync('kubectl', ['kustomize', DIR], { encoding: 'utf8' })).map(
  (d) => d.toJS() as Obj,
);
type Policy = Obj & { spec: PolicySpec };
const policy = find(objs, 'ValidatingAdmissionPolicy', 'vpc-ipam-node-updates') as Policy;
const poolPolicy = find(objs, 'ValidatingAdmissionPolicy', 'vpc-ipam-node-address-pools') as Policy;
const SA = 'system:serviceaccount:kube-system:vpc-ipam-node';

type Json = Record<string, unknown>;
interface Request {
  user?: string;
  tokenNode?: string | null;
  subResource?: string;
  /** Default UPDATE (a PATCH is admitted as one); a CREATE has no oldObject. */
  operation?: 'CREATE' | 'UPDATE';
  oldObject: Json | null;
  object: Json;
}

/** Allowed (undefined) or the first denial's message, as kube-apiserver decides for policy `p`. */
function admit(r: Request, p: Policy = policy): string | undefined {
  const request = {
    operation: r.operation ?? 'UPDATE',
    userInfo: {
      username: r.user ?? SA,
      extra: r.tokenNode === null ? {} : { 'authentication.kubernetes.io/node-name': [r.tokenNode ?? 'node-1'] },
    },
    ...(r.subResource ? { subResource: r.subResource } : {}),
  };
  const ctx: Json = { request, object: r.object, oldObject: r.oldObject };
  if (!p.spec.matchConditions.every((m) => evaluate(m.expression, ctx) === true)) return undefined;
  const variables: Json = {};
  for (const v of p.spec.variables) variables[v.name!] = evaluate(v.expression, { ...ctx, variables });
  for (const v of p.spec.validations) {
    if (evaluate(v.expression, { ...ctx, variables }) === true) continue;
    return v.messageExpression ? String(evaluate(v.messageExpression, { ...ctx, variables })) : v.message;
  }
  return undefined;
}

const ready = { type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: '2026-12-03T08:00:00Z' };
function node(name = 'node-1'): Json {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { 'kubernetes.io/hostname': name, 'node-role.kubernetes.io/worker': '' },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: { providerID: 'aws:///us-east-1a/i-0123456789abcdef0' },
    status: { capacity: { cpu: '2', pods: '29' }, allocatable: { cpu: '2', pods: '29' }, conditions: [ready] },
  };
}
/** The fields the cases edit, of a Node or a NodeAddressPool as JSON. */
interface EditableDoc {
  metadata: {
    name?: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    finalizers?: string[];
    ownerReferences?: unknown[];
  };
  spec: Record<string, unknown>;
  status: {
    conditions?: Array<Record<string, unknown>>;
    capacity?: Record<string, string>;
    [field: string]: unknown;
  };
}
const edit = (o: Json, f: (x: EditableDoc) => void): Json => {
  const c = structuredClone(o);
  f(c as unknown as EditableDoc);
  return c;
};

describe('node admission policy (optional component)', () => {
  it('renders, and every object validates against the Kubernetes schema', () => {
    const kinds = ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'];
    expect(objs.map((o) => o.kind).sort()).toEqual([...kinds, ...kinds].sort());
    for (const p of [policy, poolPolicy]) {
      expect(() => new ValidatingAdmissionPolicy(p as never).validate()).not.toThrow();
      const b = find(objs, 'ValidatingAdmissionPolicyBinding', p.metadata.name);
      expect(() => new ValidatingAdmissionPolicyBinding(b as never).validate()).not.toThrow();
      expect(b).toMatchObject({ spec: { policyName: p.metadata.name, validationActions: ['Deny'] } });
    }
    // The same identity and claim in both.
    expect(poolPolicy.spec.matchConditions).toEqual(policy.spec.matchConditions);
    expect(poolPolicy.spec.variables[0]).toEqual(policy.spec.variables[0]);
  });

  it('is matched only for the ServiceAccount the node RBAC binds, and is not in the default install', () => {
    const binding = find(render('aws'), 'ClusterRoleBinding', 'vpc-ipam-node') as Obj & {
      subjects: Array<{ name: string; namespace: string }>;
    };
    const s = binding.subjects[0]!;
    expect(policy.spec.matchConditions[0]!.expression).toContain(`system:serviceaccount:${s.namespace}:${s.name}`);
    expect(render('aws').some((o) => o.kind === 'ValidatingAdmissionPolicy')).toBe(false);
  });

  it('allows what the daemon does: our label and annotation, our condition, on its own Node', () => {
    const old = node();
    const published = edit(old, (n) => {
      n.metadata.labels[MAX_PODS_KEY] = '29';
      n.metadata.annotations[POOL_USAGE_ANNOTATION] = '{"assigned":3}';
    });
    expect(admit({ oldObject: old, object: published })).toBeUndefined();
    // And again with a changed value, and with our keys removed (uninstall cleanup).
    const again = edit(published, (n) => (n.metadata.labels[MAX_PODS_KEY] = '58'));
    expect(admit({ oldObject: published, object: again })).toBeUndefined();
    expect(admit({ oldObject: published, object: old })).toBeUndefined();
    const condition = { type: POOL_EXHAUSTED_CONDITION, status: 'True', reason: 'AtCapacity', message: 'full' };
    const exhausted = edit(old, (n) => n.status.conditions!.push(condition));
    expect(admit({ subResource: 'status', oldObject: old, object: exhausted })).toBeUndefined();
    const cleared = edit(exhausted, (n) => (n.status.conditions![1]!.status = 'False'));
    expect(admit({ subResource: 'status', oldObject: exhausted, object: cleared })).toBeUndefined();
  });

  it('denies another Node, and a token without the node-name claim', () => {
    const old = node('node-2');
    const obj = edit(old, (n) => (n.metadata.labels[MAX_PODS_KEY] = '29'));
    expect(admit({ oldObject: old, object: obj })).toMatch(/only change the Node it runs on .*"node-1".*node-2/);
    expect(
      admit({ tokenNode: null, oldObject: node(), object: edit(node(), (n) => (n.metadata.labels.x = '1')) }),
    ).toMatch(/only change the Node it runs on/);
  });

  it('denies foreign labels, annotations, spec, finalizers and owners', () => {
    const old = node();
    const cases: Array<[(n: EditableDoc) => void, RegExp]> = [
      [(n) => (n.metadata.labels['node-role.kubernetes.io/control-plane'] = ''), /labels under vpc-ipam\.io/],
      [(n) => delete n.metadata.labels['node-role.kubernetes.io/worker'], /labels under vpc-ipam\.io/],
      [(n) => (n.metadata.labels['kubernetes.io/hostname'] = 'evil'), /labels under vpc-ipam\.io/],
      [(n) => delete n.metadata.annotations['node.alpha.kubernetes.io/ttl'], /annotations under vpc-ipam\.io/],
      [(n) => (n.spec.unschedulable = true), /spec/],
      [(n) => (n.spec.taints = [{ key: 'x', effect: 'NoSchedule' }]), /spec/],
      [(n) => (n.metadata.finalizers = ['example.com/hold']), /finalizers or owners/],
    ];
    for (const [f, msg] of cases) expect(admit({ oldObject: old, object: edit(old, f) }), String(f)).toMatch(msg);
  });

  it("denies changes to the kubelet's conditions and to any other status field", () => {
    const old = node();
    const cases: Array<[(n: EditableDoc) => void, RegExp]> = [
      [(n) => (n.status.conditions![0]!.status = 'False'), /conditions of type VpcIpam/],
      [(n) => n.status.conditions!.splice(0, 1), /conditions of type VpcIpam/],
      [(n) => n.status.conditions!.push({ type: 'NetworkUnavailable', status: 'True' }), /conditions of type VpcIpam/],
      [(n) => (n.status.capacity!.pods = '250'), /conditions in a Node's status/],
      [(n) => (n.status.addresses = [{ type: 'InternalIP', address: '10.0.0.1' }]), /conditions in a Node's status/],
    ];
    for (const [f, msg] of cases) {
      expect(admit({ subResource: 'status', oldObject: old, object: edit(old, f) }), String(f)).toMatch(msg);
    }
  });

  it('NodeAddressPools: created owned by its own Node, its status patched; nothing else', () => {
    const own = (name: string) => [{ apiVersion: 'v1', kind: 'Node', name, uid: 'u1' }];
    const pool = (name = 'node-1', owners: unknown[] = own(name)): Json => ({
      apiVersion: 'vpc-ipam.io/v1alpha1',
      kind: 'NodeAddressPool',
      metadata: { name, ownerReferences: owners },
      spec: {},
    });
    const create = (object: Json, tokenNode?: string | null) => {
      const token = tokenNode !== undefined ? { tokenNode } : {};
      return admit({ operation: 'CREATE', oldObject: null, object, ...token }, poolPolicy);
    };
    // What the daemon does (node-address-pool.ts).
    expect(create(pool())).toBeUndefined();
    const published = edit(pool(), (p) => (p.status = { assigned: 3, subnets: [] }));
    expect(admit({ subResource: 'status', oldObject: pool(), object: published }, poolPolicy)).toBeUndefined();
    // Another node's, or none named by the token.
    expect(create(pool('node-2'))).toMatch(/NodeAddressPool of the Node it runs on .*"node-1".*node-2/);
    expect(create(pool(), null)).toMatch(/NodeAddressPool of the Node it runs on/);
    const theirs = edit(published, (p) => (p.metadata.name = 'node-2'));
    expect(admit({ subResource: 'status', oldObject: theirs, object: theirs }, poolPolicy)).toMatch(/runs on/);
    // Owned by something else, or by nothing (it would outlive the Node), or changing its owners later.
    const owner = (ref: Json) => create(pool('node-1', [ref]));
    expect(owner({ apiVersion: 'v1', kind: 'Node', name: 'node-2', uid: 'u2' })).toMatch(/owned by its own Node/);
    expect(owner({ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'node-1', uid: 'u' })).toMatch(/owned by its/);
    expect(create(pool('node-1', []))).toMatch(/owned by its own Node/);
    const extra = [
      { apiVersion: 'v1', kind: 'Node', name: 'node-1', uid: 'u1' },
      { apiVersion: 'v1', kind: 'X' },
    ];
    expect(create(pool('node-1', extra))).toMatch(/and by nothing else/);
    const orphaned = edit(pool(), (p) => delete p.metadata.ownerReferences);
    expect(admit({ oldObject: pool(), object: orphaned }, poolPolicy)).toMatch(/may not change a NodeAddressPool's/);
    // Other identities are RBAC's business alone.
    expect(admit({ user: 'system:admin', operation: 'CREATE', oldObject: null, object: pool('x') }, poolPolicy)).toBe(
      undefined,
    );
  });

  it('does not apply to other identities (the kubelet, controllers)', () => {
    const old = node();
    const obj = edit(old, (n) => (n.spec.unschedulable = true));
    expect(admit({ user: 'system:node:node-1', oldObject: old, object: obj })).toBeUndefined();
    expect(
      admit({ user: 'system:serviceaccount:kube-system:node-controller', oldObject: old, object: obj }),
    ).toBeUndefined();
  });
});
