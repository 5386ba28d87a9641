import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig, type DaemonConfig } from '../../ipamd/config.js';
import { parseClusterMonitorConfig } from '../../ipamd/config/cluster-monitor.js';
import {
  AWS_CNI_EXTRA_VARIABLES,
  AWS_CNI_README_VARIABLES,
  AWS_CNI_VARIABLES,
} from '../../ipamd/config/aws-cni-compat.js';

/**
 * The "CNI Configuration Variables" of the AWS VPC CNI README (aws/amazon-vpc-cni-k8s at b52188387f2e, v1.23.1,
 * README.md lines 148-775: every `#### \`NAME\`` heading), in its order.
 */
const README = [
  'AWS_MANAGE_ENIS_NON_SCHEDULABLE',
  'AWS_VPC_CNI_NODE_PORT_SUPPORT',
  'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG',
  'ENI_CONFIG_ANNOTATION_DEF',
  'ENI_CONFIG_LABEL_DEF',
  'HOST_CNI_BIN_PATH',
  'HOST_CNI_CONFDIR_PATH',
  'AWS_VPC_ENI_MTU',
  'AWS_VPC_K8S_CNI_EXTERNALSNAT',
  'AWS_VPC_K8S_CNI_RANDOMIZESNAT',
  'AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS',
  'POD_MTU',
  'WARM_ENI_TARGET',
  'WARM_IP_TARGET',
  'MINIMUM_IP_TARGET',
  'MAX_ENI',
  'AWS_VPC_K8S_CNI_LOGLEVEL',
  'AWS_VPC_K8S_CNI_LOG_FILE',
  'AWS_VPC_K8S_PLUGIN_LOG_FILE',
  'AWS_VPC_K8S_PLUGIN_LOG_LEVEL',
  'INTROSPECTION_BIND_ADDRESS',
  'DISABLE_INTROSPECTION',
  'DISABLE_METRICS',
  'AWS_VPC_K8S_CNI_VETHPREFIX',
  'ADDITIONAL_ENI_TAGS',
  'AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER',
  'CLUSTER_NAME',
  'CLUSTER_ENDPOINT',
  'ENABLE_POD_ENI',
  'POD_SECURITY_GROUP_ENFORCING_MODE',
  'DISABLE_TCP_EARLY_DEMUX',
  'ENABLE_SUBNET_DISCOVERY',
  'ENABLE_PREFIX_DELEGATION',
  'WARM_PREFIX_TARGET',
  'DISABLE_NETWORK_RESOURCE_PROVISIONING',
  'ENABLE_BANDWIDTH_PLUGIN',
  'ANNOTATE_POD_IP',
  'ENABLE_IPv4',
  'ENABLE_IPv6',
  'ENABLE_NFTABLES',
  'AWS_EXTERNAL_SERVICE_CIDRS',
  'AWS_EC2_ENDPOINT',
  'DISABLE_LEAKED_ENI_CLEANUP',
  'ENABLE_V6_EGRESS',
  'ENABLE_V4_EGRESS',
  'IP_COOLDOWN_PERIOD',
  'DISABLE_POD_V6',
  'NETWORK_POLICY_ENFORCING_MODE',
  'ENABLE_IMDS_ONLY_MODE',
  'ENABLE_MULTI_NIC',
];

/** Issue 16 names these beyond the README (reference §2.1). */
const EXTRA = ['MANAGE_UNTAGGED_ENI', 'HTTP_TIMEOUT'];

/** A Kubernetes node on AWS, so every schema (provider, Kubernetes, conflist) reads its variables. */
const BASE = {
  VPC_IPAM_PROVIDER: 'aws',
  MY_NODE_NAME: 'node-1',
  KUBERNETES_SERVICE_HOST: '10.96.0.1',
} as const;

const aws = (c: DaemonConfig) => (c.providerSettings.name === 'aws' ? c.providerSettings.settings : undefined);
const k8s = (c: DaemonConfig) => c.kubernetes;

type Probe = readonly [value: string, read: (c: DaemonConfig) => unknown, expected: unknown];

/** For each honoured variable: a non-default value, the setting it changes, and what the AWS CNI would make it. */
const HONOURED: Record<string, Probe> = {
  AWS_VPC_CNI_NODE_PORT_SUPPORT: ['false', (c) => c.hostNetwork.nodePortSupport, false],
  AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: ['true', (c) => c.customNetworking.enabled, true],
  HOST_CNI_BIN_PATH: ['/host/usr/libexec/cni', (c) => k8s(c)?.settings.binDir, '/host/usr/libexec/cni'],
  HOST_CNI_CONFDIR_PATH: ['/host/etc/cni/other', (c) => k8s(c)?.settings.confDir, '/host/etc/cni/other'],
  AWS_VPC_ENI_MTU: ['1500', (c) => [c.interfaceMtu, k8s(c)?.conflist.mtu], [1500, 1500]],
  AWS_VPC_K8S_CNI_EXTERNALSNAT: ['true', (c) => c.hostNetwork.externalSnat, true],
  AWS_VPC_K8S_CNI_RANDOMIZESNAT: ['none', (c) => c.hostNetwork.randomizeSnat, 'none'],
  AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: ['10.9.0.0/16', (c) => c.hostNetwork.excludeSnatCidrs, ['10.9.0.0/16']],
  POD_MTU: ['1450', (c) => k8s(c)?.conflist.mtu, 1450],
  WARM_ENI_TARGET: ['2', (c) => c.targets.warmInterfaces, 2],
  WARM_IP_TARGET: ['5', (c) => c.targets.warmIps, 5],
  MINIMUM_IP_TARGET: ['10', (c) => c.targets.minimumIps, 10],
  MAX_ENI: ['3', (c) => c.maxInterfaces, 3],
  AWS_VPC_K8S_CNI_LOGLEVEL: ['ERROR', (c) => c.logLevel, 'error'],
  AWS_VPC_K8S_CNI_LOG_FILE: [
    '/var/log/aws-routed-eni/ipamd.log',
    (c) => c.logFile,
    '/var/log/aws-routed-eni/ipamd.log',
  ],
  AWS_VPC_K8S_PLUGIN_LOG_FILE: ['/var/log/cni.log', (c) => k8s(c)?.conflist.logFile, '/var/log/cni.log'],
  AWS_VPC_K8S_PLUGIN_LOG_LEVEL: ['WARN', (c) => k8s(c)?.conflist.logLevel, 'warn'],
  INTROSPECTION_BIND_ADDRESS: ['127.0.0.1:7000', (c) => c.introspection, { host: '127.0.0.1', port: 7000 }],
  DISABLE_INTROSPECTION: ['true', (c) => c.introspection, undefined],
  DISABLE_METRICS: ['true', (c) => c.metrics, undefined],
  AWS_VPC_K8S_CNI_VETHPREFIX: ['eni', (c) => [c.hostNetwork.vethPrefix, k8s(c)?.conflist.vethPrefix], ['eni', 'eni']],
  DISABLE_TCP_EARLY_DEMUX: ['true', (c) => c.hostNetwork.disableTcpEarlyDemux, true],
  ADDITIONAL_ENI_TAGS: ['{"team":"net"}', (c) => aws(c)?.additionalTags, { team: 'net' }],
  CLUSTER_NAME: ['prod', (c) => aws(c)?.clusterName, 'prod'],
  CLUSTER_ENDPOINT: [
    'https://api.example:443',
    (c) => k8s(c)?.connection,
    { kind: 'in-cluster', server: 'https://api.example:443', serviceAccountDir: expect.any(String) },
  ],
  ENABLE_SUBNET_DISCOVERY: ['false', (c) => aws(c)?.subnetDiscovery, false],
  ENABLE_PREFIX_DELEGATION: ['true', (c) => c.prefixDelegation, true],
  WARM_PREFIX_TARGET: ['3', (c) => c.targets.warmPrefixes, 3],
  ENABLE_BANDWIDTH_PLUGIN: ['true', (c) => k8s(c)?.conflist.chain, ['portmap', 'bandwidth']],
  AWS_EC2_ENDPOINT: ['http://127.0.0.1:5000', (c) => aws(c)?.ec2Endpoint, 'http://127.0.0.1:5000'],
  IP_COOLDOWN_PERIOD: ['60', (c) => c.cooldownMs, 60_000],
  MANAGE_UNTAGGED_ENI: ['false', (c) => aws(c)?.manageUntaggedEni, false],
  HTTP_TIMEOUT: ['20', (c) => aws(c)?.httpTimeoutMs, 20_000],
  ENI_CONFIG_ANNOTATION_DEF: [
    'example.com/eni-config',
    (c) => k8s(c)?.settings.eniConfigKeys.annotation,
    'example.com/eni-config',
  ],
  ENI_CONFIG_LABEL_DEF: [
    'topology.kubernetes.io/zone',
    (c) => k8s(c)?.settings.eniConfigKeys.label,
    'topology.kubernetes.io/zone',
  ],
  ANNOTATE_POD_IP: ['true', (c) => k8s(c)?.settings.annotatePodIp, true],
};

/**
 * Accepted with no setting changed, because the AWS CNI changes nothing either on an IPv4 node without Pod ENIs
 * (deprecated no-ops, IPv6-only and Pod-ENI-only switches), or, for AWS_MANAGE_ENIS_NON_SCHEDULABLE=true, because
 * it asks for what vpc-ipam always does.
 */
const NO_OP: Record<string, string> = {
  AWS_MANAGE_ENIS_NON_SCHEDULABLE: 'true',
  AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER: 'false',
  ENABLE_NFTABLES: 'true',
  ENABLE_V4_EGRESS: 'false',
  POD_SECURITY_GROUP_ENFORCING_MODE: 'standard',
  // The sweep it turns off runs in the cluster monitor, not on a node: tested below on the monitor's settings.
  DISABLE_LEAKED_ENI_CLEANUP: 'true',
};

/** For each refused variable: a non-default value. */
const REFUSED: Record<string, string> = {
  ENABLE_POD_ENI: 'true',
  DISABLE_NETWORK_RESOURCE_PROVISIONING: 'true',
  ENABLE_IPv4: 'false',
  ENABLE_IPv6: 'true',
  AWS_EXTERNAL_SERVICE_CIDRS: '10.100.0.0/16',
  ENABLE_V6_EGRESS: 'true',
  DISABLE_POD_V6: 'true',
  NETWORK_POLICY_ENFORCING_MODE: 'strict',
  ENABLE_IMDS_ONLY_MODE: 'true',
  ENABLE_MULTI_NIC: 'true',
};

const byName = new Map(AWS_CNI_VARIABLES.map((v) => [v.name, v]));

describe('AWS VPC CNI variables: each honoured or refused, none ignored', () => {
  it('the table covers exactly the README list (50) and the extras, once each', () => {
    expect(README).toHaveLength(50);
    expect(AWS_CNI_README_VARIABLES.map((v) => v.name)).toEqual(README);
    expect(AWS_CNI_EXTRA_VARIABLES.map((v) => v.name)).toEqual(EXTRA);
    expect(byName.size).toBe(README.length + EXTRA.length);
  });

  it('every variable is probed below, by the behaviour the table gives it', () => {
    const probed = [...Object.keys(HONOURED), ...Object.keys(NO_OP), ...Object.keys(REFUSED)];
    expect(probed.sort()).toEqual([...README, ...EXTRA].sort());
    for (const name of Object.keys(REFUSED)) expect(byName.get(name)?.behaviour, name).toBe('refused-unless-default');
    for (const name of [...Object.keys(HONOURED), ...Object.keys(NO_OP)]) {
      expect(byName.get(name)?.behaviour, name).not.toBe('refused-unless-default');
    }
  });

  const base = parseConfig(BASE);

  it.each(Object.entries(HONOURED))('%s is honoured', (name, [value, read, expected]) => {
    expect(read(base), `${name} unset`).not.toEqual(expected);
    expect(read(parseConfig({ ...BASE, [name]: value }))).toEqual(expected);
  });

  it.each(Object.entries(NO_OP))('%s=%s is accepted and changes nothing, as in the AWS CNI here', (name, value) => {
    expect(parseConfig({ ...BASE, [name]: value })).toEqual(base);
  });

  it.each(Object.entries(REFUSED))('%s=%s is refused, naming it and what to do', (name, value) => {
    let message = '';
    try {
      parseConfig({ ...BASE, [name]: value });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(new RegExp(`^${name}: "${value}" asks for .+, which vpc-ipam does not support yet`));
    expect(message).toContain(byName.get(name)?.note);
  });

  it('a refusal comes before any other setting is read (a bad value stops the start first)', () => {
    expect(() => parseConfig({ ENABLE_IPv6: 'true', VPC_IPAM_PROVIDER: 'openstack' })).toThrow(/ENABLE_IPv6/);
  });
});

describe('AWS VPC CNI variables at their default', () => {
  const spellings = {
    false: ['false', '0', 'f', 'F', 'FALSE', 'False'],
    true: ['true', '1', 't', 'T', 'TRUE', 'True'],
  };
  const base = parseConfig(BASE);

  it('every refused boolean takes its default quietly in each ParseBool spelling', () => {
    for (const v of AWS_CNI_VARIABLES) {
      if (v.behaviour !== 'refused-unless-default' || v.value.kind !== 'bool') continue;
      for (const s of spellings[String(v.value.def) as 'true' | 'false']) {
        expect(parseConfig({ ...BASE, [v.name]: s }), `${v.name}=${s}`).toEqual(base);
      }
    }
  });

  it.each([
    ['ENI_CONFIG_LABEL_DEF', 'k8s.amazonaws.com/eniConfig'],
    ['ENI_CONFIG_ANNOTATION_DEF', 'k8s.amazonaws.com/eniConfig'],
    ['NETWORK_POLICY_ENFORCING_MODE', 'standard'],
    ['NETWORK_POLICY_ENFORCING_MODE', 'none'],
    ['AWS_VPC_K8S_CNI_VETHPREFIX', 'vpc'],
    ['AWS_EXTERNAL_SERVICE_CIDRS', ''],
    ['POD_SECURITY_GROUP_ENFORCING_MODE', 'strict'],
  ])('%s=%s is accepted quietly', (name, value) => {
    expect(parseConfig({ ...BASE, [name]: value })).toEqual(base);
  });

  it('an AWS boolean the AWS CNI could not parse is refused naming it', () => {
    expect(() => parseConfig({ ENABLE_POD_ENI: 'yes' })).toThrow(/ENABLE_POD_ENI: expected true or false/);
    expect(() => parseConfig({ DISABLE_METRICS: 'on' })).toThrow(/DISABLE_METRICS: expected true or false/);
  });

  it("the AWS manifest's own environment starts, with its eni veth prefix", () => {
    // config/master/aws-k8s-cni.yaml at v1.23.1, the aws-node container (log paths as there).
    const manifest = {
      ADDITIONAL_ENI_TAGS: '{}',
      AWS_VPC_CNI_NODE_PORT_SUPPORT: 'true',
      AWS_VPC_ENI_MTU: '9001',
      AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'false',
      AWS_VPC_K8S_CNI_EXTERNALSNAT: 'false',
      AWS_VPC_K8S_CNI_LOGLEVEL: 'DEBUG',
      AWS_VPC_K8S_CNI_LOG_FILE: '/host/var/log/aws-routed-eni/ipamd.log',
      AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'prng',
      AWS_VPC_K8S_PLUGIN_LOG_FILE: '/var/log/aws-routed-eni/plugin.log',
      AWS_VPC_K8S_PLUGIN_LOG_LEVEL: 'DEBUG',
      DISABLE_INTROSPECTION: 'false',
      DISABLE_METRICS: 'false',
      DISABLE_NETWORK_RESOURCE_PROVISIONING: 'false',
      ENABLE_IMDS_ONLY_MODE: 'false',
      ENABLE_IPv4: 'true',
      ENABLE_IPv6: 'false',
      ENABLE_MULTI_NIC: 'false',
      ENABLE_POD_ENI: 'false',
      ENABLE_PREFIX_DELEGATION: 'false',
      ENABLE_SUBNET_DISCOVERY: 'true',
      NETWORK_POLICY_ENFORCING_MODE: 'standard',
      WARM_ENI_TARGET: '1',
      WARM_PREFIX_TARGET: '1',
    };
    const c = parseConfig({ ...BASE, ...manifest });
    expect(c.logLevel).toBe('debug');
    expect(c.logFile).toBe('/host/var/log/aws-routed-eni/ipamd.log');
    expect(c.kubernetes?.conflist.logFile).toBe('/var/log/aws-routed-eni/plugin.log');
    expect(parseConfig({ ...BASE, ...manifest, AWS_VPC_K8S_CNI_VETHPREFIX: 'eni' }).hostNetwork.vethPrefix).toBe('eni');
  });
});

describe('precedence: our own variable wins over the AWS one', () => {
  it.each([
    [{ VPC_IPAM_LOG_LEVEL: 'warn', AWS_VPC_K8S_CNI_LOGLEVEL: 'DEBUG' }, (c: DaemonConfig) => c.logLevel, 'warn'],
    [{ VPC_IPAM_LOG_FILE: 'stderr', AWS_VPC_K8S_CNI_LOG_FILE: '/tmp/x.log' }, (c: DaemonConfig) => c.logFile, 'stderr'],
    [{ VPC_IPAM_INTERFACE_MTU: '1500', AWS_VPC_ENI_MTU: '9000' }, (c: DaemonConfig) => c.interfaceMtu, 1500],
    [{ POD_MTU: '1400', AWS_VPC_ENI_MTU: '9000' }, (c: DaemonConfig) => c.kubernetes?.conflist.mtu, 1400],
    [{ AWS_VPC_K8S_PLUGIN_LOG_FILE: 'stderr' }, (c: DaemonConfig) => c.kubernetes?.conflist.logFile, undefined],
    [
      { VPC_IPAM_CNI_LOG_LEVEL: 'off', AWS_VPC_K8S_PLUGIN_LOG_LEVEL: 'DEBUG' },
      (c: DaemonConfig) => c.kubernetes?.conflist.logLevel,
      'off',
    ],
    [
      { VPC_IPAM_METRICS_ADDRESS: '127.0.0.1:9100', DISABLE_METRICS: 'true' },
      (c: DaemonConfig) => c.metrics,
      undefined,
    ],
  ] as const)('%j', (env, read, expected) => {
    expect(read(parseConfig({ ...BASE, ...env }))).toEqual(expected);
  });

  it('refuses the values the AWS CNI refuses or that we cannot write', () => {
    expect(() => parseConfig({ ...BASE, AWS_VPC_K8S_PLUGIN_LOG_FILE: 'stdout' })).toThrow(
      /AWS_VPC_K8S_PLUGIN_LOG_FILE: stdout carries the CNI result/,
    );
    expect(() => parseConfig({ AWS_VPC_K8S_CNI_LOGLEVEL: 'verbose' })).toThrow(/AWS_VPC_K8S_CNI_LOGLEVEL: expected/);
    expect(() => parseConfig({ AWS_VPC_ENI_MTU: '100' })).toThrow(/AWS_VPC_ENI_MTU: must be >= 576/);
    expect(() => parseConfig({ POD_SECURITY_GROUP_ENFORCING_MODE: 'loose' })).toThrow(
      /POD_SECURITY_GROUP_ENFORCING_MODE: expected strict or standard/,
    );
  });
});

describe('AWS-only variables on a node that runs another provider', () => {
  const awsOnly = AWS_CNI_VARIABLES.filter((v) => v.awsOnly).map((v) => v.name);

  it("are the AWS provider schema's own", () => {
    expect(awsOnly.sort()).toEqual(
      [
        'ADDITIONAL_ENI_TAGS',
        'AWS_EC2_ENDPOINT',
        'CLUSTER_NAME',
        'ENABLE_SUBNET_DISCOVERY',
        'HTTP_TIMEOUT',
        'MANAGE_UNTAGGED_ENI',
      ].sort(),
    );
  });

  it.each(awsOnly)('%s is refused without VPC_IPAM_PROVIDER=aws (an aws-node manifest left as it was)', (name) => {
    const value = name === 'AWS_EC2_ENDPOINT' ? 'http://127.0.0.1:1' : name === 'HTTP_TIMEOUT' ? '10' : 'true';
    expect(() => parseConfig({ [name]: value })).toThrow(
      new RegExp(`^${name}: is read only with VPC_IPAM_PROVIDER=aws.*\\(VPC_IPAM_PROVIDER unset: sim\\)`),
    );
    expect(() => parseConfig({ VPC_IPAM_PROVIDER: 'azure', [name]: value })).toThrow(/VPC_IPAM_PROVIDER=azure/);
    expect(() => parseConfig({ ...BASE, [name]: value })).not.toThrow(/is read only with/);
  });
});

describe('docs/configuration.md', () => {
  it('its AWS table lists every variable of the table with its behaviour', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## AWS VPC CNI variables'));
    for (const v of AWS_CNI_VARIABLES) {
      const row = section.split('\n').find((l) => l.startsWith(`| \`${v.name}\` |`));
      expect(row, v.name).toBeDefined();
      expect(row, v.name).toContain(v.behaviour);
    }
  });
});

describe('DISABLE_LEAKED_ENI_CLEANUP', () => {
  const sweep = (env: Record<string, string>) => parseClusterMonitorConfig({ ...BASE, ...env }).monitor.eniGcIntervalMs;

  it("turns the monitor leader's leaked-ENI sweep off, as the AWS CNI's switch turns its sweep off", () => {
    expect(sweep({})).toBe(300_000);
    expect(sweep({ DISABLE_LEAKED_ENI_CLEANUP: 'true' })).toBe(0);
    expect(sweep({ DISABLE_LEAKED_ENI_CLEANUP: 'f' })).toBe(300_000);
  });

  it('yields to VPC_IPAM_MONITOR_ENI_GC_INTERVAL_SECONDS', () => {
    expect(sweep({ DISABLE_LEAKED_ENI_CLEANUP: 'true', VPC_IPAM_MONITOR_ENI_GC_INTERVAL_SECONDS: '60' })).toBe(60_000);
  });
});
