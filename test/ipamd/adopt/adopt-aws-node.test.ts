import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { awsHostVethName } from '../../../cni/contract/veth-name.js';
import { adoptAwsNode } from '../../../ipamd/adopt/adopt-aws-node.js';
import { AdoptionRefusedError } from '../../../ipamd/adopt/errors.js';
import { parseAwsCheckpoint, renderAwsCheckpoint } from '../../../ipamd/adopt/aws-checkpoint.js';
import { AWS_CONFLIST_ASIDE, moveAwsConflistAside } from '../../../ipamd/adopt/aws-conflist.js';
import { RollbackCheckpointer } from '../../../ipamd/adopt/rollback-checkpointer.js';
import type { HostWiringPort } from '../../../ipamd/adopt/host-wiring.js';
import { parseAdoption } from '../../../ipamd/config/adoption.js';
import { MemoryCheckpointer } from '../../../ipamd/datastore/checkpoint.js';
import { Datastore } from '../../../ipamd/datastore/datastore.js';
import { ConfigError } from '../../../providers/errors.js';
import { networkInterface } from '../../helpers/network-interface.js';

const NIC = networkInterface('eni-0', 0, ['10.0.0.10/32', '10.0.0.11/32', '10.0.0.12/32']);
const entry = (containerID: string, ip: string, pod: string) => ({
  networkName: 'aws-cni',
  containerID,
  ifName: 'eth0',
  ipv4: ip,
  allocationTimestamp: 1_764_770_000_000_000_000,
  metadata: { k8sPodNamespace: 'ns', k8sPodName: pod, interfacesCount: 1 },
});

function fakeHost(links: string[]): HostWiringPort & { pruned: string[] } {
  const pruned: string[] = [];
  return {
    pruned,
    scan: async () => ({ links, rules: [] }),
    pruneRules: async (ips) => (pruned.push(...ips), ips.length * 2),
  };
}

function node(dir: string) {
  const file = join(dir, 'ipam.json');
  writeFileSync(file, renderAwsCheckpoint([entry('c1', '10.0.0.10', 'a'), entry('c2', '10.0.0.11', 'gone')]));
  const datastore = new Datastore('ip', 0);
  datastore.upsertInterface(NIC, 0);
  const inputs = {
    checkpointFile: file,
    network: 'vpc-ipam',
    vethPrefix: 'eni',
    datastore,
    node: { interfaces: [NIC] },
  };
  return { file, datastore, inputs };
}

describe('adoptAwsNode', () => {
  it('adopts live allocations into the datastore, prunes the stale ones, and is a no-op the second time', async () => {
    const { datastore, inputs } = node(mkdtempSync(join(tmpdir(), 'adopt-')));
    const host = fakeHost(['eth0', awsHostVethName('eni', 'ns', 'a')]);
    const r = await adoptAwsNode({ ...inputs, host });
    expect(r).toEqual({ found: true, adopted: 1, already: 0, stale: ['c2/eth0 10.0.0.11'], rulesPruned: 2 });
    expect(datastore.find({ network: 'vpc-ipam', containerId: 'c1', ifName: 'eth0' })?.ip).toBe('10.0.0.10');
    expect(datastore.snapshot(0).assigned).toBe(1);
    const again = await adoptAwsNode({ ...inputs, host });
    expect(again).toMatchObject({ adopted: 0, already: 1 });
    expect(datastore.list()).toHaveLength(1);
  });

  it("refuses a node with Pods on another network card (aws-node's ipam-nic-<n>.json)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'adopt-'));
    const { inputs } = node(dir);
    writeFileSync(join(dir, 'ipam-nic-1.json'), renderAwsCheckpoint([entry('c9', '10.1.0.9', 'nic1')]));
    const err = await adoptAwsNode({ ...inputs, host: fakeHost([]) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdoptionRefusedError);
    expect((err as AdoptionRefusedError).refusal).toBe('multi-nic');
    expect((err as Error).message).toContain('ipam-nic-1.json c9/eth0 10.1.0.9');
    writeFileSync(join(dir, 'ipam-nic-1.json'), renderAwsCheckpoint([]));
    expect(await adoptAwsNode({ ...inputs, host: fakeHost([]) })).toMatchObject({ found: true });
  });

  it('no checkpoint: a node without Pods', async () => {
    const { inputs } = node(mkdtempSync(join(tmpdir(), 'adopt-')));
    const r = await adoptAwsNode({ ...inputs, checkpointFile: '/nonexistent/ipam.json', host: fakeHost([]) });
    expect(r).toMatchObject({ found: false, adopted: 0 });
  });
});

describe('rollback checkpointer', () => {
  it("writes every assignment in aws-node's format after ours, the last state last", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rollback-'));
    const file = join(dir, 'ipam.json');
    const inner = new MemoryCheckpointer();
    const cp = new RollbackCheckpointer(inner, file);
    const a = { network: 'vpc-ipam', containerId: 'c1', ifName: 'eth0', ip: '10.0.0.10', interfaceId: 'eni-0' };
    const one = { ...a, blockCidr: '10.0.0.10/32', pod: { namespace: 'ns', name: 'p' }, assignedAt: 1_764_770_000_000 };
    const two = { ...one, containerId: 'c2', ip: '10.0.0.11', blockCidr: '10.0.0.11/32', pod: {} };
    await Promise.all([
      cp.save(() => ({ version: 'vpc-ipam/1', assignments: [one], cooling: [] })),
      cp.save(() => ({ version: 'vpc-ipam/1', assignments: [one, two], cooling: [] })),
    ]);
    expect(inner.data?.assignments).toHaveLength(2);
    const aws = parseAwsCheckpoint(readFileSync(file, 'utf8'), file);
    expect(aws.allocations).toEqual([
      { ...entry('c1', '10.0.0.10', 'p'), allocationTimestamp: 1_764_770_000_000_000_000 },
      { ...entry('c2', '10.0.0.11', ''), metadata: { interfacesCount: 1 } },
    ]);
    expect(readdirSync(dir)).toEqual(['ipam.json']);
  });
});

describe('adoption settings and the conflist swap', () => {
  it('is explicit, AWS only, and refuses a checkpoint path without adoption', () => {
    expect(parseAdoption({}, 'aws')).toBeUndefined();
    expect(parseAdoption({ VPC_IPAM_ADOPT_AWS_NODE: 'TRUE' }, 'aws')).toEqual({
      checkpointFile: '/var/run/aws-node/ipam.json',
    });
    expect(() => parseAdoption({ VPC_IPAM_ADOPT_AWS_NODE: '1' }, 'gcp')).toThrow(ConfigError);
    expect(() => parseAdoption({ VPC_IPAM_AWS_NODE_CHECKPOINT: '/x' }, 'aws')).toThrow(/VPC_IPAM_ADOPT_AWS_NODE=true/);
    expect(() => parseAdoption({ VPC_IPAM_ADOPT_AWS_NODE: 'yes' }, 'aws')).toThrow(ConfigError);
  });

  it("moves aws-node's conflist to a name no runtime loads, once", () => {
    const dir = mkdtempSync(join(tmpdir(), 'netd-'));
    writeFileSync(join(dir, '10-aws.conflist'), '{}');
    writeFileSync(join(dir, '10-vpc-ipam.conflist'), '{}');
    expect(moveAwsConflistAside(dir)).toBe(true);
    expect(moveAwsConflistAside(dir)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual([AWS_CONFLIST_ASIDE, '10-vpc-ipam.conflist']);
  });
});
