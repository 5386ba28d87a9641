/**
 * The optional annotate-pod-ip component (deploy/kustomize/components/annotate-pod-ip): added to an overlay, it
 * turns ANNOTATE_POD_IP on and grants the one permission it needs, `patch` on Pods, to the node's ServiceAccount;
 * the default install has neither. That the daemon uses exactly that grant is test/deploy/rbac-usage.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/daemon-process.js';
import { find, kubectlProblem, render, type Obj } from './render.js';

const problem = kubectlProblem();

/** The aws overlay with the component, as a user's overlay would add it. */
function renderWithComponent(): Obj[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'overlay-'));
  const rel = (p: string) => path.relative(dir, path.join(REPO, p));
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [rel('deploy/kustomize/overlays/aws')],
    components: [rel('deploy/kustomize/components/annotate-pod-ip')],
  };
  writeFileSync(path.join(dir, 'kustomization.yaml'), YAML.stringify(kustomization));
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 });
  return YAML.parseAllDocuments(out)
    .map((d) => d.toJS() as Obj)
    .filter((o) => o);
}

describe.skipIf(problem !== undefined)('annotate-pod-ip component', () => {
  it('sets ANNOTATE_POD_IP and binds patch on pods to the node ServiceAccount; the default install has neither', () => {
    const objs = renderWithComponent();
    expect(find(objs, 'ConfigMap', 'vpc-ipam-config').data).toMatchObject({ ANNOTATE_POD_IP: 'true' });
    expect(find(objs, 'ClusterRole', 'vpc-ipam-node-pod-ips').rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['patch'] },
    ]);
    const node = find(objs, 'ClusterRoleBinding', 'vpc-ipam-node') as Obj & { subjects: unknown };
    expect(find(objs, 'ClusterRoleBinding', 'vpc-ipam-node-pod-ips')).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: 'vpc-ipam-node-pod-ips' },
      subjects: node.subjects,
    });
    const plain = render('aws');
    expect(plain.some((o) => o.metadata.name === 'vpc-ipam-node-pod-ips')).toBe(false);
    expect(find(plain, 'ConfigMap', 'vpc-ipam-config').data).not.toHaveProperty('ANNOTATE_POD_IP');
  });

  it("ships no ENIConfig CRD: it is aws-node's, and deleting ours would delete every ENIConfig with it", () => {
    for (const o of [...render('aws'), ...renderWithComponent()]) {
      if (o.kind === 'CustomResourceDefinition') expect(o.metadata.name).not.toBe('eniconfigs.crd.k8s.amazonaws.com');
    }
  });
});
