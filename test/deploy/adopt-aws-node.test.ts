/**
 * The optional adopt-aws-node component (deploy/kustomize/components/adopt-aws-node): added to the aws overlay for
 * a migration, it turns adoption on with aws-node's veth prefix, mounts aws-node's checkpoint directory at the path
 * VPC_IPAM_AWS_NODE_CHECKPOINT defaults to, limits the DaemonSet to nodes handed over by label, and rolls one node
 * at a time. The default install has none of it.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_AWS_NODE_CHECKPOINT } from '../../ipamd/config/adoption.js';
import { find, kubectlProblem, render, renderWithComponents, type Obj } from './render.js';

const problem = kubectlProblem();

type Spec = {
  updateStrategy: { rollingUpdate: { maxUnavailable: unknown } };
  template: {
    spec: {
      affinity: unknown;
      containers: Array<{ name: string; volumeMounts: Array<{ name: string; mountPath: string }> }>;
      volumes: Array<{ name: string; hostPath?: { path: string } }>;
    };
  };
};
const daemonSet = (objs: Obj[]) => find(objs, 'DaemonSet', 'vpc-ipam-node').spec as Spec;

describe.skipIf(problem !== undefined)('adopt-aws-node component', () => {
  it('turns adoption on, mounts /var/run/aws-node, runs only on handed-over nodes, one node at a time', () => {
    const objs = renderWithComponents('aws', ['adopt-aws-node']);
    expect(find(objs, 'ConfigMap', 'vpc-ipam-config').data).toMatchObject({
      VPC_IPAM_ADOPT_AWS_NODE: 'true',
      AWS_VPC_K8S_CNI_VETHPREFIX: 'eni',
    });
    const ds = daemonSet(objs);
    expect(ds.updateStrategy.rollingUpdate.maxUnavailable).toBe(1);
    const ipamd = ds.template.spec.containers.find((c) => c.name === 'ipamd')!;
    const mount = ipamd.volumeMounts.find((m) => m.name === 'aws-node-run')!;
    expect(DEFAULT_AWS_NODE_CHECKPOINT.startsWith(`${mount.mountPath}/`)).toBe(true);
    expect(ds.template.spec.volumes).toContainEqual(
      expect.objectContaining({
        name: 'aws-node-run',
        hostPath: expect.objectContaining({ path: '/var/run/aws-node' }),
      }),
    );
    expect(JSON.stringify(ds.template.spec.affinity)).toContain('"key":"vpc-ipam.io/cni"');
    // The rest of the base survives the patch.
    expect(ipamd.volumeMounts.map((m) => m.name)).toEqual(expect.arrayContaining(['run', 'cni-conf', 'netns']));
    expect(JSON.stringify(ds.template.spec.affinity)).toContain('"key":"kubernetes.io/os"');
  });

  it('the default install has none of it', () => {
    const plain = render('aws');
    expect(find(plain, 'ConfigMap', 'vpc-ipam-config').data).not.toHaveProperty('VPC_IPAM_ADOPT_AWS_NODE');
    const ds = daemonSet(plain);
    expect(ds.template.spec.volumes.map((v) => v.name)).not.toContain('aws-node-run');
    expect(JSON.stringify(ds.template.spec.affinity)).not.toContain('vpc-ipam.io/cni');
  });
});
