/**
 * The AWS VPC CNI's ENIConfig as a Pod subnet source: which one a node names (the AWS CNI's order,
 * pkg/eniconfig/eniconfig.go `GetNodeSpecificENIConfigName`), how a spec is read, and what the source answers
 * against the fake API server with and without the ENIConfig CRD.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../providers/errors.js';
import type { EniConfigKeys } from '../../ipamd/config/kubernetes.js';
import { chooseEniConfig, EniConfigError, parseEniConfig } from '../../ipamd/k8s/eni-config.js';
import { eniConfigNodeKeys, NodeEniConfigs } from '../../ipamd/k8s/node-eni-config.js';
import { NodeSubnets } from '../../ipamd/k8s/node-subnets.js';
import { nodeObject, startFakeCluster, type FakeCluster } from './helpers.js';

const AWS_KEYS: EniConfigKeys = { annotation: 'k8s.amazonaws.com/eniConfig', label: 'k8s.amazonaws.com/eniConfig' };
const ZONE_KEYS: EniConfigKeys = { annotation: 'k8s.amazonaws.com/eniConfig', label: 'topology.kubernetes.io/zone' };

describe('chooseEniConfig: the AWS CNI order', () => {
  const all = {
    labels: {
      'vpc.amazonaws.com/externalEniConfig': 'external',
      'topology.kubernetes.io/zone': 'us-east-1a',
      'k8s.amazonaws.com/eniConfig': 'by-label',
    },
    annotations: { 'k8s.amazonaws.com/eniConfig': 'by-annotation' },
  };

  it.each([
    ['the external label over everything', all, ZONE_KEYS, 'external', 'external-label'],
    [
      'the annotation over the label',
      { ...all, labels: { 'topology.kubernetes.io/zone': 'us-east-1a' } },
      ZONE_KEYS,
      'by-annotation',
      'annotation',
    ],
    [
      'the label ENI_CONFIG_LABEL_DEF names',
      { labels: { 'topology.kubernetes.io/zone': 'us-east-1a', 'k8s.amazonaws.com/eniConfig': 'by-label' } },
      ZONE_KEYS,
      'us-east-1a',
      'label',
    ],
    ['the default label key', { labels: all.labels, annotations: {} }, AWS_KEYS, 'external', 'external-label'],
    ['"default" when no key is there', { labels: { 'kubernetes.io/hostname': 'n' } }, ZONE_KEYS, 'default', 'default'],
    ['"default" for a node with nothing', {}, AWS_KEYS, 'default', 'default'],
  ] as const)('%s', (_what, node, keys, name, source) => {
    expect(chooseEniConfig(node, keys)).toMatchObject({ name, source });
  });

  it('a key present with an empty value still counts (a Go map lookup), naming ""', () => {
    const node = { annotations: { 'k8s.amazonaws.com/eniConfig': '' }, labels: { 'topology.kubernetes.io/zone': 'z' } };
    expect(chooseEniConfig(node, ZONE_KEYS)).toMatchObject({ name: '', source: 'annotation' });
  });
});

describe('parseEniConfig', () => {
  it('reads subnet and groups; none or an empty list means the primary interface groups', () => {
    expect(parseEniConfig({ spec: { subnet: 'subnet-0a', securityGroups: ['sg-1', 'sg-1', 'sg-2'] } }, 'x')).toEqual({
      subnet: 'subnet-0a',
      securityGroups: ['sg-1', 'sg-2'],
    });
    expect(parseEniConfig({ spec: { subnet: 'subnet-0a', securityGroups: [] } }, 'x')).toEqual({ subnet: 'subnet-0a' });
    expect(parseEniConfig({ spec: { subnet: 'subnet-0a' } }, 'x')).toEqual({ subnet: 'subnet-0a' });
  });

  it.each([
    [{}, 'ENIConfig/x spec'],
    [{ spec: { securityGroups: ['sg-1'] } }, 'ENIConfig/x spec.subnet'],
    [{ spec: { subnet: 'subnet a' } }, 'ENIConfig/x spec.subnet'],
    [{ spec: { subnet: 'subnet-0a', securityGroups: 'sg-1' } }, 'ENIConfig/x spec.securityGroups'],
    [{ spec: { subnet: 'subnet-0a', securityGroups: ['sg-1', 7] } }, 'ENIConfig/x spec.securityGroups[1]'],
  ])('%j is refused naming %s', (obj, variable) => {
    const err = (() => {
      try {
        parseEniConfig(obj, 'x');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(EniConfigError);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(variable);
  });
});

describe('NodeEniConfigs against the API server', () => {
  let withCrd: FakeCluster;
  let withoutCrd: FakeCluster;
  beforeAll(async () => {
    [withCrd, withoutCrd] = await Promise.all([startFakeCluster({ eniConfigCrd: true }), startFakeCluster()]);
  });
  afterAll(async () => {
    await Promise.all([withCrd.server.stop(), withoutCrd.server.stop()]);
  });

  function source(c: FakeCluster, node: string, customNetworking = true) {
    const nodes = new NodeSubnets({ apis: c.apis, nodeName: node, alsoKeys: eniConfigNodeKeys(ZONE_KEYS) });
    return new NodeEniConfigs({
      apis: c.apis,
      nodeName: node,
      keys: ZONE_KEYS,
      customNetworking,
      readNode: () => nodes.readNode(),
    });
  }

  it('reads the ENIConfig the node names, fresh at each read', async () => {
    const c = withCrd;
    c.server.create('nodes', nodeObject('eni-1', { labels: { 'topology.kubernetes.io/zone': 'us-east-1a' } }));
    c.server.create('eniconfigs', { metadata: { name: 'us-east-1a' }, spec: { subnet: 'subnet-0a' } });
    const s = source(c, 'eni-1');
    expect(await s.read()).toEqual({ subnetIds: ['subnet-0a'], origin: 'ENIConfig/us-east-1a' });
    c.server.mutate('eniconfigs', 'us-east-1a', (o) => {
      o.spec = { subnet: 'subnet-0b', securityGroups: ['sg-0b'] };
    });
    expect(await s.read()).toEqual({
      subnetIds: ['subnet-0b'],
      securityGroups: ['sg-0b'],
      origin: 'ENIConfig/us-east-1a',
    });
    expect(await s.view()).toEqual({
      name: 'us-east-1a',
      source: 'label',
      key: 'topology.kubernetes.io/zone',
      spec: { subnet: 'subnet-0b', securityGroups: ['sg-0b'] },
      customNetworking: true,
    });
  });

  it('the chosen ENIConfig missing is an error naming it and how the node chose it (no fallback)', async () => {
    const c = withCrd;
    c.server.create('nodes', nodeObject('eni-2'));
    const s = source(c, 'eni-2');
    await expect(s.read()).rejects.toThrow(/^ENIConfig\/default metadata\.name: not found, but node eni-2 names it/);
    await expect(s.read()).rejects.toBeInstanceOf(EniConfigError);
    expect(await s.view()).toMatchObject({ name: 'default', source: 'default', error: /not found/ });
  });

  it('answers none without custom networking, as the AWS CNI reads no ENIConfig then', async () => {
    const c = withCrd;
    c.server.create('nodes', nodeObject('eni-3'));
    c.server.create('eniconfigs', { metadata: { name: 'default' }, spec: { subnet: 'subnet-0d' } });
    const before = c.server.count('GET', /eniconfigs/);
    expect(await source(c, 'eni-3', false).read()).toBeUndefined();
    expect(c.server.count('GET', /eniconfigs/)).toBe(before);
  });

  it('without the ENIConfig CRD (never ran aws-node): none, and the remedy says what to install', async () => {
    const c = withoutCrd;
    c.server.create('nodes', nodeObject('eni-4'));
    const s = source(c, 'eni-4');
    expect(await s.read()).toBeUndefined();
    expect(s.crdMissing).toBe(true);
    expect(s.remedy).toMatch(/^install the ENIConfig CRD \(eniconfigs\.crd\.k8s\.amazonaws\.com\)/);
  });

  it('an outage after a good read keeps the last ENIConfig for the same name', async () => {
    const c = withCrd;
    c.server.create('nodes', nodeObject('eni-5', { annotations: { 'k8s.amazonaws.com/eniConfig': 'pods-5' } }));
    c.server.create('eniconfigs', { metadata: { name: 'pods-5' }, spec: { subnet: 'subnet-05' } });
    const s = source(c, 'eni-5');
    await s.read();
    c.server.unavailable = true;
    try {
      expect(await s.read()).toMatchObject({ subnetIds: ['subnet-05'], origin: 'ENIConfig/pods-5' });
      expect(s.stats.fallbacks).toBe(1);
    } finally {
      c.server.unavailable = false;
    }
  });
});
