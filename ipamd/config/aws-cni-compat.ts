/**
 * @module AWS VPC CNI compatibility
 * Every variable of the AWS VPC CNI README (aws/amazon-vpc-cni-k8s v1.23.1, "CNI Configuration Variables", 50 of
 * them) plus the ones issue 16 names beyond it, each with the AWS default and what vpc-ipam does with it:
 * - `honoured`: an existing schema reads it with the AWS meaning (`where` names it);
 * - `honoured-here`: mapped onto one of our settings by ipamd/config/aws-cni-settings.ts;
 * - `refused-unless-default`: any value but the AWS default (in every form the AWS CNI reads it) stops the start
 *   with a {@link ConfigError} that says what is not supported and what to do instead.
 * Honouring a refused variable later is a one-line change of its `behaviour` here plus the mapping.
 * docs/configuration.md ("AWS VPC CNI variables") is the table for people; test/ipamd/aws-cni-compat.test.ts
 * checks every entry.
 */
import { BOOL_SPELLINGS, parseBool } from '../../cni/contract/bool.js';
import { ConfigError } from '../../providers/errors.js';
import { present, type Env } from './readers.js';

export type Behaviour = 'honoured' | 'honoured-here' | 'refused-unless-default';

/** How the AWS CNI reads the value, so "equal to the default" means what it means there. */
export type ValueForm =
  | { kind: 'bool'; def: boolean }
  /** Text: `accepts` lists the values taken quietly (compared ignoring case when `anyCase`). */
  | { kind: 'text'; accepts: readonly string[]; anyCase?: boolean };

export interface AwsCniVariable {
  name: string;
  /** The AWS VPC CNI's default, as its README gives it. */
  awsDefault: string;
  behaviour: Behaviour;
  value: ValueForm;
  /** honoured / honoured-here: where it is read or what it maps onto. refused: what to do instead. */
  note: string;
  /** refused: what is not supported, for the message. */
  unsupported?: string;
  /** Read by the AWS provider's schema only: set on a node that runs another provider, it is refused. */
  awsOnly?: true;
}

const awsOnly = true;
const AWS = 'providers/aws/settings.ts (VPC_IPAM_PROVIDER=aws)';
const bool = (def: boolean): ValueForm => ({ kind: 'bool', def });
const text = (...accepts: string[]): ValueForm => ({ kind: 'text', accepts });
const any: ValueForm = { kind: 'text', accepts: [] };

function honoured(name: string, awsDefault: string, where: string): AwsCniVariable {
  return { name, awsDefault, behaviour: 'honoured', value: any, note: where, ...(where === AWS ? { awsOnly } : {}) };
}
function here(name: string, awsDefault: string, value: ValueForm, note: string): AwsCniVariable {
  return { name, awsDefault, behaviour: 'honoured-here', value, note };
}
function refused(
  name: string,
  awsDefault: string,
  value: ValueForm,
  unsupported: string,
  instead: string,
): AwsCniVariable {
  return { name, awsDefault, behaviour: 'refused-unless-default', value, unsupported, note: instead };
}

const POOL = 'ipamd/config/pool.ts';
const HOST = 'ipamd/config/host-network.ts';
const ENICONFIG = 'ipamd/config/kubernetes.ts (ENIConfig under custom networking, ipamd/k8s/node-eni-config.ts)';

/** The AWS VPC CNI README's variables, in its order. */
export const AWS_CNI_README_VARIABLES: readonly AwsCniVariable[] = Object.freeze([
  here(
    'AWS_MANAGE_ENIS_NON_SCHEDULABLE',
    'false',
    bool(false),
    'vpc-ipam always manages interfaces on a cordoned node (as with true); the default false is accepted',
  ),
  honoured('AWS_VPC_CNI_NODE_PORT_SUPPORT', 'true', HOST),
  honoured('AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG', 'false', 'ipamd/config/pod-subnets.ts (PodSubnetConfig)'),
  honoured('ENI_CONFIG_ANNOTATION_DEF', 'k8s.amazonaws.com/eniConfig', ENICONFIG),
  honoured('ENI_CONFIG_LABEL_DEF', 'k8s.amazonaws.com/eniConfig', ENICONFIG),
  honoured('HOST_CNI_BIN_PATH', '/host/opt/cni/bin', 'ipamd/config/kubernetes.ts'),
  honoured('HOST_CNI_CONFDIR_PATH', '/host/etc/cni/net.d', 'ipamd/config/kubernetes.ts'),
  here('AWS_VPC_ENI_MTU', '9001', any, 'secondary interface MTU when VPC_IPAM_INTERFACE_MTU is unset; POD_MTU default'),
  honoured('AWS_VPC_K8S_CNI_EXTERNALSNAT', 'false', HOST),
  honoured('AWS_VPC_K8S_CNI_RANDOMIZESNAT', 'prng', HOST),
  honoured('AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS', '', HOST),
  honoured('POD_MTU', '= AWS_VPC_ENI_MTU', 'ipamd/config/conflist.ts'),
  honoured('WARM_ENI_TARGET', '1', POOL),
  honoured('WARM_IP_TARGET', '0', POOL),
  honoured('MINIMUM_IP_TARGET', '0', POOL),
  honoured('MAX_ENI', '-1', POOL),
  here('AWS_VPC_K8S_CNI_LOGLEVEL', 'DEBUG', any, 'log level when VPC_IPAM_LOG_LEVEL is unset'),
  here('AWS_VPC_K8S_CNI_LOG_FILE', '/host/var/log/aws-routed-eni/ipamd.log', any, 'log file (VPC_IPAM_LOG_FILE wins)'),
  here(
    'AWS_VPC_K8S_PLUGIN_LOG_FILE',
    '/var/log/aws-routed-eni/plugin.log',
    any,
    'plugin log (VPC_IPAM_CNI_LOG_FILE wins)',
  ),
  here('AWS_VPC_K8S_PLUGIN_LOG_LEVEL', 'DEBUG', any, 'plugin log level (VPC_IPAM_CNI_LOG_LEVEL wins)'),
  honoured('INTROSPECTION_BIND_ADDRESS', '127.0.0.1:61679', 'ipamd/config/introspection-address.ts'),
  here('DISABLE_INTROSPECTION', 'false', bool(false), 'true turns the introspection listener off'),
  here('DISABLE_METRICS', 'false', bool(false), 'true turns the metrics listener off'),
  honoured('AWS_VPC_K8S_CNI_VETHPREFIX', 'eni', HOST),
  honoured('ADDITIONAL_ENI_TAGS', '{}', AWS),
  here(
    'AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER',
    'true',
    bool(true),
    'deprecated no-op in the AWS CNI; accepted in both values and ignored the same way',
  ),
  honoured('CLUSTER_NAME', '', AWS),
  honoured('CLUSTER_ENDPOINT', '', 'ipamd/config/kube-connection.ts'),
  refused(
    'ENABLE_POD_ENI',
    'false',
    bool(false),
    'security groups for Pods (trunk and branch interfaces)',
    'keep those Pods on aws-node nodes, or give them their own subnet and groups through a PodSubnetConfig',
  ),
  here(
    'POD_SECURITY_GROUP_ENFORCING_MODE',
    'strict',
    text('strict', 'standard'),
    'only acts with ENABLE_POD_ENI=true (refused), as in the AWS CNI; strict and standard accepted',
  ),
  honoured('DISABLE_TCP_EARLY_DEMUX', 'false', HOST),
  honoured('ENABLE_SUBNET_DISCOVERY', 'true', AWS),
  honoured('ENABLE_PREFIX_DELEGATION', 'false', POOL),
  honoured('WARM_PREFIX_TARGET', '0 (manifest 1)', POOL),
  refused(
    'DISABLE_NETWORK_RESOURCE_PROVISIONING',
    'false',
    bool(false),
    'running on pre-attached interfaces only, with no EC2 call',
    'unset it; bound growth with MAX_ENI and the warm targets instead',
  ),
  here('ENABLE_BANDWIDTH_PLUGIN', 'false', bool(false), 'true chains the bandwidth plugin (VPC_IPAM_CNI_CHAIN)'),
  honoured('ANNOTATE_POD_IP', 'false', 'ipamd/config/kubernetes.ts (ipamd/k8s/pod-ip-annotation.ts)'),
  refused(
    'ENABLE_IPv4',
    'true',
    bool(true),
    'a node without IPv4 Pods',
    'unset it or set true: vpc-ipam hands out IPv4 addresses only',
  ),
  refused('ENABLE_IPv6', 'false', bool(false), 'IPv6 Pods', 'keep IPv6 clusters on aws-node; vpc-ipam is IPv4 only'),
  here('ENABLE_NFTABLES', 'false', bool(false), 'deprecated no-op in the AWS CNI; backend auto-detected here too'),
  refused(
    'AWS_EXTERNAL_SERVICE_CIDRS',
    '',
    text(),
    'rules that route service CIDRs by the main table',
    'unset it; with AWS_VPC_K8S_CNI_EXTERNALSNAT=false, Pods reach off-VPC destinations through the primary',
  ),
  honoured('AWS_EC2_ENDPOINT', '', AWS),
  here(
    'DISABLE_LEAKED_ENI_CLEANUP',
    'false',
    bool(false),
    "true turns off the monitor leader's sweep of leaked tagged ENIs (ipamd/config/monitor.ts); on a node, a no-op",
  ),
  refused(
    'ENABLE_V6_EGRESS',
    'false',
    bool(false),
    'IPv6 egress for IPv4 Pods (egress-cni)',
    'unset it; Pods get IPv4 only',
  ),
  here('ENABLE_V4_EGRESS', 'true', bool(true), 'only acts in an IPv6 cluster (refused), as in the AWS CNI'),
  honoured('IP_COOLDOWN_PERIOD', '30', 'ipamd/config.ts'),
  refused(
    'DISABLE_POD_V6',
    'false',
    bool(false),
    'turning IPv6 off in Pod namespaces (tuning plugin)',
    'unset it; set the sysctl in the Pod spec (net.ipv6.conf.all.disable_ipv6)',
  ),
  refused(
    'NETWORK_POLICY_ENFORCING_MODE',
    'standard',
    text('standard', 'none'),
    'calls to the aws-network-policy-agent (strict mode)',
    'set standard or unset it, and enforce policies with an engine that needs no CNI call (Calico, Cilium)',
  ),
  refused(
    'ENABLE_IMDS_ONLY_MODE',
    'false',
    bool(false),
    'running from instance metadata alone',
    'unset it and grant the EC2 permissions of docs/aws.md',
  ),
  refused(
    'ENABLE_MULTI_NIC',
    'false',
    bool(false),
    'network cards other than card 0',
    'unset it; vpc-ipam manages network card 0',
  ),
]);

/** Variables beyond the README that the AWS CNI reads and issue 16 names (reference §2.1). */
export const AWS_CNI_EXTRA_VARIABLES: readonly AwsCniVariable[] = Object.freeze([
  honoured('MANAGE_UNTAGGED_ENI', 'true', AWS),
  honoured('HTTP_TIMEOUT', '10', AWS),
]);

export const AWS_CNI_VARIABLES: readonly AwsCniVariable[] = [...AWS_CNI_README_VARIABLES, ...AWS_CNI_EXTRA_VARIABLES];

/** Whether `raw` is a value the form takes quietly; a bool the AWS CNI could not parse is an error here. */
function accepted(v: AwsCniVariable, raw: string): boolean {
  const form = v.value;
  switch (form.kind) {
    case 'bool': {
      const b = parseBool(raw);
      if (b === undefined) throw new ConfigError(v.name, `expected true or false (${BOOL_SPELLINGS}), got "${raw}"`);
      return b === form.def;
    }
    case 'text':
      if (form.accepts.length === 0 && v.behaviour === 'honoured-here') return true;
      return form.anyCase
        ? form.accepts.some((a) => a.toLowerCase() === raw.toLowerCase())
        : form.accepts.includes(raw);
  }
}

/**
 * Stops the start on a variable vpc-ipam cannot honour, and on a value an `honoured-here` variable with a fixed
 * set of values does not take. Runs first in parseConfig, before any cloud call.
 */
export function checkAwsCniVariables(env: Env): void {
  const provider = present(env, 'VPC_IPAM_PROVIDER') ?? 'sim';
  for (const v of AWS_CNI_VARIABLES) {
    if (v.awsOnly && provider !== 'aws' && present(env, v.name) !== undefined) {
      // Most likely an aws-node manifest without VPC_IPAM_PROVIDER=aws: the node would run another provider.
      const runs = present(env, 'VPC_IPAM_PROVIDER') ? `VPC_IPAM_PROVIDER=${provider}` : 'VPC_IPAM_PROVIDER unset: sim';
      throw new ConfigError(
        v.name,
        `is read only with VPC_IPAM_PROVIDER=aws, and this ipamd runs another provider (${runs}): ` +
          `set VPC_IPAM_PROVIDER=aws, or unset ${v.name}`,
      );
    }
    if (v.behaviour === 'honoured') continue;
    const raw = present(env, v.name);
    if (raw === undefined || accepted(v, raw)) continue;
    if (v.behaviour === 'honoured-here') {
      const form = v.value;
      if (form.kind === 'text') throw new ConfigError(v.name, `expected ${form.accepts.join(' or ')}, got "${raw}"`);
      continue; // a bool that maps onto a setting: both values are meaningful
    }
    const def = v.awsDefault === '' ? 'unset' : v.awsDefault;
    const what = `"${raw}" asks for ${v.unsupported ?? 'this value'}, which vpc-ipam does not support yet`;
    throw new ConfigError(v.name, `${what} (the AWS default, ${def}, is accepted): ${v.note}`);
  }
}
