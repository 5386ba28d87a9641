/**
 * The last good Node and PodSubnetConfig (node-subnets.ts, node-cache.ts),
 * through the real client against the fake API server: used on 5xx, reset
 * and refused connections, never on a definite 404; kept in the state dir
 * (atomic, validated on read), so a new NodeSubnets starts from it.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_CACHE_FILE, NodeCache, parseNodeCache } from '../../ipamd/k8s/node-cache.js';
import { NodeNotFoundError, NodeSubnets, NodeUnknownError } from '../../ipamd/k8s/node-subnets.js';
import { PodSubnetCrdMissingError } from '../../ipamd/k8s/pod-subnet-config.js';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { nodeObject, startFakeCluster, type FakeCluster } from './helpers.js';

let c: FakeCluster;
beforeAll(async () => {
  c = await startFakeCluster();
});
afterAll(() => c.server.stop());

const KEY = 'vpc-ipam.io/pod-subnet-config';

function source(node: string, dir: string) {
  const cache = new NodeCache(path.join(dir, NODE_CACHE_FILE), node, silentLogger());
  return { cache, subnets: new NodeSubnets({ apis: c.apis, nodeName: node, cache, log: silentLogger() }) };
}

describe('NodeSubnets keeps the last good Node and config', () => {
  it('5xx, reset and refused connections: the last good copy; the file carries it to the next start', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nc-'));
    const labels = { [KEY]: 'cfg-nc', 'topology.kubernetes.io/zone': 'us-east-1a' };
    c.server.create('nodes', nodeObject('nc-1', { providerID: 'aws:///us-east-1a/i-1', cpu: '4', labels }));
    const spec = { subnetIds: ['subnet-a'], securityGroups: ['sg-1'] };
    c.server.create('podsubnetconfigs', { metadata: { name: 'cfg-nc' }, spec });
    const { subnets } = source('nc-1', dir);
    expect(await subnets.prime()).toEqual({ node: 'fresh' });
    const want = { subnetIds: ['subnet-a'], securityGroups: ['sg-1'], origin: 'PodSubnetConfig/cfg-nc' };
    expect(await subnets.read()).toEqual(want);

    c.server.unavailable = true;
    expect(await subnets.read()).toEqual(want);
    c.server.unavailable = false;
    c.server.resetConnections = true;
    expect(await subnets.read()).toEqual(want);
    c.server.resetConnections = false;
    expect(subnets.stats.fallbacks).toBeGreaterThanOrEqual(2);

    // A restart while nothing listens: the new source starts from the file.
    await c.server.refuseConnections();
    try {
      const again = source('nc-1', dir).subnets;
      expect(again.facts).toMatchObject({ providerId: 'aws:///us-east-1a/i-1', cpus: 4, zone: 'us-east-1a' });
      expect(await again.prime()).toMatchObject({ node: 'cached' });
      expect(await again.read()).toEqual(want);
    } finally {
      await c.server.acceptConnections();
    }
    // Only the keys the choice reads are kept (not the kubelet's labels, not our own annotations).
    const saved = JSON.parse(readFileSync(path.join(dir, NODE_CACHE_FILE), 'utf8')) as { node: { labels: object } };
    expect(Object.keys(saved.node.labels).sort()).toEqual(['topology.kubernetes.io/zone', KEY]);
  });

  it('a definite answer is not bridged: Node 404, a named config 404, a config changed to invalid', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nc-'));
    c.server.create('nodes', nodeObject('nc-2', { labels: { [KEY]: 'cfg-nc2' } }));
    c.server.create('podsubnetconfigs', { metadata: { name: 'cfg-nc2' }, spec: { subnetIds: ['subnet-b'] } });
    const { subnets } = source('nc-2', dir);
    expect((await subnets.read())?.subnetIds).toEqual(['subnet-b']);
    c.server.mutate('podsubnetconfigs', 'cfg-nc2', (o) => (o.spec = { subnetIds: ['subnet b'] }));
    await expect(subnets.read()).rejects.toThrow(/PodSubnetConfig\/cfg-nc2 spec\.subnetIds\[0\]/);
    c.server.remove('podsubnetconfigs', 'cfg-nc2');
    await expect(subnets.read()).rejects.toThrow(/PodSubnetConfig\/cfg-nc2 metadata\.name: not found/);
    c.server.remove('nodes', 'nc-2');
    await expect(subnets.read()).rejects.toBeInstanceOf(NodeNotFoundError);
  });

  it('the CRD not installed is definite: an error for a named config, "none" for the zone default', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nc-'));
    c.server.create('nodes', nodeObject('nc-5', { labels: { 'topology.kubernetes.io/zone': 'us-east-1a' } }));
    c.server.create('nodes', nodeObject('nc-6', { labels: { [KEY]: 'cfg-nc6' } }));
    c.server.create('podsubnetconfigs', { metadata: { name: 'cfg-nc6' }, spec: { subnetIds: ['subnet-c'] } });
    const zone = source('nc-5', dir).subnets;
    const named = source('nc-6', mkdtempSync(path.join(tmpdir(), 'nc-'))).subnets;
    expect((await named.read())?.subnetIds).toEqual(['subnet-c']);
    c.server.crdInstalled = false;
    try {
      expect(await zone.read()).toBeUndefined();
      expect(zone.remedy).toMatch(/^CRD podsubnetconfigs\.vpc-ipam\.io is not installed: apply .*crd\.yaml, then set/);
      const err = await named.read().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PodSubnetCrdMissingError);
      expect(String((err as Error).message)).toMatch(/^PodSubnetConfig: CRD podsubnetconfigs\.vpc-ipam\.io is not/);
    } finally {
      c.server.crdInstalled = true;
    }
    expect((await named.read())?.subnetIds).toEqual(['subnet-c']);
    expect([zone.crdMissing, named.crdMissing]).toEqual([true, false]);
  });

  it('no copy at all during an outage: NodeUnknownError naming the cache file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nc-'));
    c.server.unavailable = true;
    try {
      const { subnets } = source('nc-3', dir);
      expect(await subnets.prime()).toMatchObject({ node: 'unknown' });
      const err = await subnets.read().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NodeUnknownError);
      expect(String((err as Error).message)).toMatch(/HTTP 503.*k8s-node\.json holds no copy: new interfaces wait for/);
    } finally {
      c.server.unavailable = false;
    }
  });
});

describe('cache file validation', () => {
  const file = '/state/k8s-node.json';
  const config = { name: 'c', source: 'zone', spec: { subnetIds: ['subnet-1'] } };
  const good = { format: 1, nodeName: 'n', node: { labels: {}, annotations: {} }, config };
  const parse = (o: object, node = 'n') => parseNodeCache(JSON.stringify(o), file, node);

  it('accepts what it writes; refuses another node, another format, a bad config, torn JSON', () => {
    expect(parse(good).config).toEqual(config);
    expect(parse({ ...good, config: null }).config).toBeNull();
    expect(() => parse(good, 'm')).toThrow(/is for node "n", not m/);
    expect(() => parse({ ...good, format: 2 })).toThrow(/not format 1/);
    const empty = { ...good, config: { ...config, spec: { subnetIds: [] } } };
    expect(() => parse(empty)).toThrow(/config: .*must not be empty/);
    expect(() => parse({ ...good, node: { labels: { a: 1 }, annotations: {} } })).toThrow(/labels/);
    expect(() => parseNodeCache(JSON.stringify(good).slice(0, 20), file, 'n')).toThrow(/not JSON/);
  });

  it('an invalid file is ignored (warned), and the next good read replaces it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nc-'));
    const f = path.join(dir, NODE_CACHE_FILE);
    writeFileSync(f, '{"format":1,"nodeName":"nc-4","node":');
    const warnings: string[] = [];
    const cache = new NodeCache(f, 'nc-4', { warn: (_o, m) => void warnings.push(m ?? '') });
    expect(cache.load()).toBeUndefined();
    expect(warnings).toEqual(['ignoring the cached Node: not valid']);
    c.server.create('nodes', nodeObject('nc-4'));
    const subnets = new NodeSubnets({ apis: c.apis, nodeName: 'nc-4', cache });
    expect(await subnets.prime()).toEqual({ node: 'fresh' });
    expect(parseNodeCache(readFileSync(f, 'utf8'), f, 'nc-4')).toMatchObject({ node: { labels: {} }, config: null });
  });
});
