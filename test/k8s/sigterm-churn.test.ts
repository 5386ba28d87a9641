/**
 * A rolling update, for real: the vpc-ipamd process (dist/) runs with the
 * Kubernetes integration against the fake API server, ADD/DEL churn goes
 * through its socket, SIGTERM lands in the middle of it, the process exits 0,
 * and the restarted daemon has exactly the acknowledged assignments: none
 * lost, none duplicated, the conflist kept (a restart is not an uninstall).
 */
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type Response } from '../../cni/contract/protocol.js';
import { callIpamd } from '../../cni/contract/socket-client.js';
import { getJson, kill, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';
import { installBinaries } from './daemon-harness.js';
import { nodeObject, podObject, startFakeCluster, until, type FakeCluster } from './helpers.js';

let c: FakeCluster;
const handles: DaemonHandle[] = [];
beforeAll(async () => {
  c = await startFakeCluster();
});
afterAll(async () => {
  for (const h of handles) await kill(h, 'SIGKILL');
  await c.server.stop();
});

function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

describe('SIGTERM during churn, with the Kubernetes integration', () => {
  it('exits cleanly and loses nothing', async () => {
    const node = 'sig-1';
    c.server.create('nodes', nodeObject(node));
    const ds = c.server.create('daemonsets', { metadata: { name: 'vpc-ipam-node' }, spec: {} }, 'kube-system');
    c.server.create(
      'pods',
      {
        metadata: {
          name: 'vpc-ipam-node-x',
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'vpc-ipam-node', uid: ds.metadata.uid }],
        },
        spec: { nodeName: node, hostNetwork: true, containers: [] },
      },
      'kube-system',
    );
    const hostDir = path.join(c.dir, 'host');
    mkdirSync(path.join(hostDir, 'net.d'), { recursive: true });
    installBinaries(path.join(hostDir, 'bin'));
    const env = {
      MY_NODE_NAME: node,
      MY_POD_NAME: 'vpc-ipam-node-x',
      POD_NAMESPACE: 'kube-system',
      KUBECONFIG: c.kubeconfig,
      HOST_CNI_CONFDIR_PATH: path.join(hostDir, 'net.d'),
      HOST_CNI_BIN_PATH: path.join(hostDir, 'bin'),
      VPC_IPAM_K8S_PUBLISH_INTERVAL_SECONDS: '1',
      WARM_IP_TARGET: '3',
      MINIMUM_IP_TARGET: '6',
      IP_COOLDOWN_PERIOD: '1',
    };
    let h = await startDaemon(env);
    handles.push(h);
    const conflist = path.join(hostDir, 'net.d', '10-vpc-ipam.conflist');
    await until('conflist installed', () => existsSync(conflist));

    const acked = new Map<string, string>(); // containerId → ip
    const uncertain = new Set<string>();
    const random = rng(11);
    let next = 0;
    async function op(): Promise<void> {
      const live = [...acked.keys()];
      const isAdd = live.length < 3 || (live.length < 20 && random() < 0.6);
      const containerId = isAdd ? `c${next++}` : live[Math.floor(random() * live.length)]!;
      if (isAdd)
        c.server.create(
          'pods',
          podObject({ name: containerId, uid: `uid-${containerId}`, nodeName: node, phase: 'Running' }),
          'default',
        );
      const req = {
        v: PROTOCOL_VERSION,
        op: isAdd ? 'add' : 'del',
        network: 'vpc-ipam',
        containerId,
        ifName: 'eth0',
        ...(isAdd ? { pod: { namespace: 'default', name: containerId, uid: `uid-${containerId}` } } : {}),
      } as const;
      let res: Response;
      try {
        res = await callIpamd(h.socket, req, 20_000);
      } catch {
        uncertain.add(containerId);
        acked.delete(containerId);
        return;
      }
      if (!res.ok) {
        // Refused while stopping (socket closing) is a clean "no": nothing changed.
        if (['POOL_EXHAUSTED'].includes(res.error.code)) return;
        throw new Error(`${req.op} ${containerId}: ${res.error.code} ${res.error.msg}`);
      }
      if (isAdd && 'allocation' in res) acked.set(containerId, res.allocation.ip);
      else if (!isAdd) acked.delete(containerId);
    }

    let code: number | null = null;
    for (let i = 0; i < 200; i += 4) {
      const batch = [op(), op(), op(), op()];
      if (code === null && i >= 100) code = await kill(h, 'SIGTERM').then((x) => x);
      await Promise.all(batch);
      if (code !== null) break;
    }
    expect(code).toBe(0);
    expect(existsSync(conflist)).toBe(true);

    h = await startDaemon(env, h);
    handles.push(h);
    const view = await getJson<{ assignments: Array<{ containerId: string; ip: string }> }>(h, '/v1/assignments');
    const byId = new Map(view.assignments.map((a) => [a.containerId, a.ip]));
    for (const [id, ip] of acked) expect(byId.get(id), `acknowledged ${id}`).toBe(ip);
    for (const id of byId.keys()) expect(acked.has(id) || uncertain.has(id), `unexpected ${id}`).toBe(true);
    expect(new Set(byId.values()).size).toBe(byId.size);
    expect(acked.size).toBeGreaterThan(0);
    expect(await kill(h, 'SIGTERM')).toBe(0);
    expect(existsSync(conflist)).toBe(true);
  });
});
