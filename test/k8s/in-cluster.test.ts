/**
 * ipamd on the in-cluster path, as in a Pod: no kubeconfig, the API server
 * from KUBERNETES_SERVICE_HOST/PORT over TLS verified against the service
 * account's ca.crt, and the projected token file, which the kubelet rotates
 * (about hourly; here twice in a second, each time refusing the old token
 * at once: fake/auth.ts). The daemon picks each new token up without a
 * restart: its Pod watch reconnects with it and keeps following the node.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterPerFile, startK8sDaemon } from './daemon-harness.js';
import { nodeObject, podObject, seedSimCloud, until } from './helpers.js';

const fx = clusterPerFile({ tls: true });

describe('in-cluster: TLS and a rotating projected token', () => {
  it('starts from the service account files and follows every token rotation without a restart', async () => {
    const name = 'ic-1';
    const dir = mkdtempSync(path.join(tmpdir(), `ipamd-${name}-`));
    const cloud = seedSimCloud(path.join(dir, 'state'));
    fx.c.server.create('nodes', nodeObject(name, { providerID: `aws:///${cloud.zone}/${cloud.instanceId}` }));
    const sa = mkdtempSync(path.join(tmpdir(), 'serviceaccount-'));
    const inCluster = fx.c.server.writeServiceAccount(sa);
    const d = await startK8sDaemon(fx.c, name, { dir, env: { KUBECONFIG: '', ...inCluster } });
    fx.daemons.push(d);
    const watch = d.running.k8s!.podWatch!;
    await until('the Pod list over TLS', () => watch.synced);
    const requestsWith = (token: string) => fx.c.server.requests.filter((r) => r.token === token).length;
    expect(requestsWith(fx.c.server.token)).toBeGreaterThan(0);
    for (let round = 1; round <= 2; round++) {
      const token = fx.c.server.rotateToken();
      fx.c.server.dropWatches(); // the reconnect must carry the new token
      fx.c.server.create('pods', podObject({ name: `${name}-p${round}`, nodeName: name }), 'default');
      await until(`the watch follows after rotation ${round}`, () => d.running.daemon.expectedDemand === round);
      expect(requestsWith(token)).toBeGreaterThan(0);
    }
  });
});
