/**
 * ANNOTATE_POD_IP=true through the real daemon wiring (`startDaemon`) and the real client against the fake API
 * server: the Pod's `vpc.amazonaws.com/pod-ips` holds its address once the ADD is answered and is blanked ("")
 * once the DEL is; as in the AWS VPC CNI (pkg/ipamd/rpc_handler.go), an ADD whose patch fails fails, and leaves
 * no address behind, while a DEL never fails for the annotation.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { add, clusterPerFile, del, ipOf, startK8sDaemon, type K8sDaemon } from './daemon-harness.js';
import { nodeObject, podObject, seedSimCloud } from './helpers.js';

const KEY = 'vpc.amazonaws.com/pod-ips';
const cluster = clusterPerFile();

async function node(name: string, annotate = true): Promise<K8sDaemon> {
  const { c, daemons } = cluster;
  const dir = mkdtempSync(path.join(tmpdir(), `ipamd-${name}-`));
  const cloud = seedSimCloud(path.join(dir, 'state'));
  c.server.create('nodes', nodeObject(name, { providerID: `aws:///${cloud.zone}/${cloud.instanceId}` }));
  const d = await startK8sDaemon(c, name, { dir, env: annotate ? { ANNOTATE_POD_IP: 'true' } : {} });
  daemons.push(d);
  return d;
}

const annotations = (name: string, ns = 'default') =>
  (cluster.c.server.get('pods', name, ns).metadata as { annotations?: Record<string, string> }).annotations ?? {};

describe('ANNOTATE_POD_IP', () => {
  it('sets the Pod IP before the ADD is answered, and blanks it when the DEL is', async () => {
    const d = await node('ann-1');
    cluster.c.server.create(
      'pods',
      podObject({ name: 'web', namespace: 'shop', nodeName: 'ann-1', uid: 'u-web' }),
      'shop',
    );
    const ip = ipOf(await add(d, 'c-web', { namespace: 'shop', name: 'web', uid: 'u-web' }));
    expect(annotations('web', 'shop')[KEY]).toBe(ip);
    // A repeated ADD (the runtime retrying) writes the same value again.
    expect(ipOf(await add(d, 'c-web', { namespace: 'shop', name: 'web', uid: 'u-web' }))).toBe(ip);
    expect(annotations('web', 'shop')[KEY]).toBe(ip);
    expect(await del(d, 'c-web')).toMatchObject({ ok: true, released: true });
    expect(annotations('web', 'shop')).toHaveProperty([KEY], '');
    expect(d.running.k8s!.podIpAnnotator!.stats).toMatchObject({ set: 2, blanked: 1, failed: 0 });
  });

  it('a DEL leaves an annotation naming another address alone, and succeeds', async () => {
    const d = await node('ann-2');
    cluster.c.server.create('pods', podObject({ name: 'db', nodeName: 'ann-2' }), 'default');
    ipOf(await add(d, 'c-db', { namespace: 'default', name: 'db' }));
    cluster.c.server.mutate(
      'pods',
      'db',
      (o) => void ((o.metadata as { annotations: Record<string, string> }).annotations[KEY] = '192.0.2.9'),
      'default',
    );
    expect(await del(d, 'c-db')).toMatchObject({ ok: true, released: true });
    expect(annotations('db')[KEY]).toBe('192.0.2.9');
  });

  it('an ADD whose patch fails fails (retryable while the API server is down) and keeps no address', async () => {
    const d = await node('ann-3');
    // No such Pod: the patch is a 404, as for a Pod deleted before its sandbox came up.
    const gone = await add(d, 'c-gone', { namespace: 'default', name: 'gone' });
    expect(gone).toMatchObject({
      ok: false,
      error: { code: 'INTERNAL', msg: expect.stringContaining('Pod default/gone') },
    });
    expect(gone.ok === false && gone.error.retryable).toBeFalsy();
    cluster.c.server.create('pods', podObject({ name: 'later', nodeName: 'ann-3' }), 'default');
    cluster.c.server.unavailable = true;
    let down;
    try {
      down = await add(d, 'c-later', { namespace: 'default', name: 'later' });
    } finally {
      cluster.c.server.unavailable = false;
    }
    expect(down).toMatchObject({ ok: false, error: { retryable: true } });
    expect(d.running.daemon.datastore.list()).toEqual([]);
    // The runtime's retry, with the API server back.
    const ip = ipOf(await add(d, 'c-later', { namespace: 'default', name: 'later' }));
    expect(annotations('later')[KEY]).toBe(ip);
  });

  it('off (the default): no Pod is patched', async () => {
    const d = await node('ann-4', false);
    cluster.c.server.create('pods', podObject({ name: 'plain', nodeName: 'ann-4' }), 'default');
    const before = cluster.c.server.count('PATCH', /\/pods\//);
    ipOf(await add(d, 'c-plain', { namespace: 'default', name: 'plain' }));
    await del(d, 'c-plain');
    expect(cluster.c.server.count('PATCH', /\/pods\//)).toBe(before);
    expect(annotations('plain')).not.toHaveProperty([KEY]);
  });
});
