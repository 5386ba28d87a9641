/**
 * Every boolean, wherever it is read (daemon config, AWS, Kubernetes and
 * monitor settings, the embedded-emulator switches, the dev runner, the CNI
 * plugin's CNI_ARGS), takes exactly what the AWS VPC CNI takes (Go's
 * strconv.ParseBool) and refuses the rest, naming the variable.
 */
import { describe, expect, it } from 'vitest';
import { parseCniArgs } from '../../cni/env.js';
import { parseConfig } from '../../ipamd/config.js';
import { devEnvironment } from '../../ipamd/dev-env.js';
import { parseK8sSettings } from '../../ipamd/config/kubernetes.js';
import { parseClusterMonitorSettings } from '../../ipamd/config/monitor.js';
import { parseBool } from '../../cni/contract/bool.js';
import { parseAwsSettings } from '../../providers/aws/settings.js';

const TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];
// What strconv.ParseBool refuses; `yes` was accepted before, while the error said "true or false".
const REFUSED = ['yes', 'no', 'y', 'n', 'on', 'off', 'tRUE', 'fAlse', '2', 'enabled', '+1'];

/** Each reader of a boolean variable, as the code calls it. */
const READERS: Array<[string, (v: string) => boolean]> = [
  ['ENABLE_PREFIX_DELEGATION', (v) => parseConfig({ ENABLE_PREFIX_DELEGATION: v }).prefixDelegation],
  ['PREFIX_FALLBACK_TO_IPS', (v) => parseConfig({ PREFIX_FALLBACK_TO_IPS: v }).prefixFallbackToIps],
  ['VPC_IPAM_HOST_INTERFACES', (v) => parseConfig({ VPC_IPAM_HOST_INTERFACES: v }).hostInterfaces],
  ['ENABLE_SUBNET_DISCOVERY', (v) => parseAwsSettings({ ENABLE_SUBNET_DISCOVERY: v }).subnetDiscovery],
  ['VPC_IPAM_AWS_EMBEDDED_EMULATOR', (v) => parseAwsSettings({ VPC_IPAM_AWS_EMBEDDED_EMULATOR: v }).embeddedEmulator],
  ['VPC_IPAM_WRITE_CONFLIST', (v) => parseK8sSettings({ MY_NODE_NAME: 'n', VPC_IPAM_WRITE_CONFLIST: v }).writeConflist],
  [
    'VPC_IPAM_MONITOR_KUBERNETES',
    (v) => parseClusterMonitorSettings({ VPC_IPAM_MONITOR_KUBERNETES: v }, 'aws').kubernetes,
  ],
  ['VPC_IPAM_DEV_REAL_CLOUD', (v) => devEnvironment({ VPC_IPAM_DEV_REAL_CLOUD: v }, '/tmp').realCloud],
];

describe('parseBool: Go strconv.ParseBool, as the AWS VPC CNI reads its variables', () => {
  it('takes the twelve spellings and nothing else', () => {
    for (const v of TRUE) expect(parseBool(v)).toBe(true);
    for (const v of FALSE) expect(parseBool(v)).toBe(false);
    for (const v of [...REFUSED, '', ' true']) expect(parseBool(v)).toBeUndefined();
  });
});

describe.each(READERS)('%s', (name, read) => {
  it('reads every ParseBool spelling', () => {
    for (const v of TRUE) expect(read(v)).toBe(true);
    for (const v of FALSE) expect(read(v)).toBe(false);
  });

  it.each(REFUSED)('refuses "%s", naming the variable and what it accepts', (v) => {
    expect(() => read(v)).toThrow(new RegExp(`${name}: expected true or false \\(1, t, T, TRUE, true, True, 0, f`));
  });
});

describe('CNI_ARGS IgnoreUnknown', () => {
  it('takes the same spellings', () => {
    for (const v of TRUE) expect(parseCniArgs(`IgnoreUnknown=${v};FOO=bar`).ignoreUnknown).toBe(true);
    for (const v of FALSE) expect(parseCniArgs(`IgnoreUnknown=${v}`).ignoreUnknown).toBe(false);
  });

  it('refuses what it cannot read, instead of taking it as false', () => {
    let err: unknown;
    try {
      parseCniArgs('IgnoreUnknown=yes');
    } catch (e) {
      err = e;
    }
    const details = expect.stringMatching(/^CNI_ARGS: IgnoreUnknown="yes": expected 1, t, T/);
    expect(err).toMatchObject({ code: 4, details });
  });
});
