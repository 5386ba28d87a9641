/**
 * @module kubernetes settings
 * The Kubernetes integration's variables (`MY_NODE_NAME` enables it), parsed
 * once at start with the rest of the configuration. Invalid values are errors
 * naming the variable. Documented in docs/install.md ("Settings").
 *
 * | Variable | Default | Meaning |
 * |---|---|---|
 * | MY_NODE_NAME | — | the Node this ipamd serves (downward API); enables the integration |
 * | MY_POD_NAME, POD_NAMESPACE | — | own Pod (downward API): Events namespace (default/kube-system), uninstall |
 * | VPC_IPAM_CUSTOM_NETWORKING | false | Pods off the primary interface; needs a PodSubnetConfig (pod-subnets.ts) |
 * | VPC_IPAM_POD_SUBNET_CONFIG_KEY | vpc-ipam.io/pod-subnet-config | node label/annotation naming the PodSubnetConfig |
 * | ENI_CONFIG_LABEL_DEF | k8s.amazonaws.com/eniConfig | node label naming the AWS ENIConfig (custom networking) |
 * | ENI_CONFIG_ANNOTATION_DEF | k8s.amazonaws.com/eniConfig | node annotation naming it; wins over the label |
 * | ANNOTATE_POD_IP | false | the Pod's IP in its vpc.amazonaws.com/pod-ips annotation on ADD, blanked on DEL |
 * | VPC_IPAM_K8S_REAP_INTERVAL_SECONDS | 300 | period of the stale-assignment check |
 * | VPC_IPAM_K8S_REAP_CONFIRM_SECONDS | 60 | a stale assignment is released when still stale this much later |
 * | VPC_IPAM_K8S_PUBLISH_INTERVAL_SECONDS | 15 | how often the NodeAddressPool (and the Node) may be updated |
 * | VPC_IPAM_K8S_HEARTBEAT_SECONDS | 300 | republish unchanged pool usage this often (freshness for the monitor) |
 * | VPC_IPAM_MAX_PODS_CEILING | 110 or 250 by CPUs | cap of the published max Pods; 0 = no cap |
 * | VPC_IPAM_WRITE_CONFLIST | true | write the CNI conflist once healthy |
 * | HOST_CNI_CONFDIR_PATH | /host/etc/cni/net.d | host CNI config dir as mounted in the container |
 * | HOST_CNI_BIN_PATH | /host/opt/cni/bin | host CNI bin dir as mounted (checked before writing the conflist) |
 * | VPC_IPAM_K8S_TIMEOUT_SECONDS | 10 | bound on one API call |
 * | VPC_IPAM_K8S_EVENT_INTERVAL_SECONDS | 30 | at most one write per repeated Event in this window |
 */
import { ConfigError } from '../../providers/errors.js';
import { DEFAULT_CNI_BIN_DIR, DEFAULT_CNI_CONF_DIR, DEFAULT_ENICONFIG_KEY, PSC_SELECT_KEY } from '../k8s/names.js';
import { readCustomNetworking } from './pod-subnets.js';
import { present, readBool, readInt, type Env } from './readers.js';

export interface K8sSettings {
  nodeName: string;
  podName: string | undefined;
  namespace: string;
  customNetworking: boolean;
  selectKey: string;
  /** The node keys that name its ENIConfig, as the AWS VPC CNI reads them (ipamd/k8s/eni-config.ts). */
  eniConfigKeys: EniConfigKeys;
  /** ANNOTATE_POD_IP (ipamd/k8s/pod-ip-annotation.ts). */
  annotatePodIp: boolean;
  reapIntervalMs: number;
  reapConfirmMs: number;
  publishIntervalMs: number;
  heartbeatMs: number;
  maxPodsCeiling: number | undefined;
  writeConflist: boolean;
  confDir: string;
  binDir: string;
  timeoutMs: number;
  eventIntervalMs: number;
}

export interface EniConfigKeys {
  /** ENI_CONFIG_ANNOTATION_DEF. */
  annotation: string;
  /** ENI_CONFIG_LABEL_DEF. */
  label: string;
}

/** DNS-1123 subdomain: what a Node name can be. */
const NODE_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A qualified label key: optional DNS prefix + "/" + name. */
const LABEL_KEY_RE =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export function parseK8sSettings(env: Env): K8sSettings {
  const nodeName = present(env, 'MY_NODE_NAME');
  if (!nodeName) throw new ConfigError('MY_NODE_NAME', 'is required for the Kubernetes integration');
  if (nodeName.length > 253 || !NODE_NAME_RE.test(nodeName))
    throw new ConfigError('MY_NODE_NAME', `"${nodeName}" is not a valid Node name`);
  const selectKey = present(env, 'VPC_IPAM_POD_SUBNET_CONFIG_KEY') ?? PSC_SELECT_KEY;
  if (!LABEL_KEY_RE.test(selectKey))
    throw new ConfigError('VPC_IPAM_POD_SUBNET_CONFIG_KEY', `"${selectKey}" is not a valid label key`);
  const eniConfigKeys = {
    annotation: readKey(env, 'ENI_CONFIG_ANNOTATION_DEF'),
    label: readKey(env, 'ENI_CONFIG_LABEL_DEF'),
  };
  // The one reading of custom networking (pod-subnets.ts), so max Pods and the pool agree.
  const custom = readCustomNetworking(env).enabled;
  const ceilingRaw = present(env, 'VPC_IPAM_MAX_PODS_CEILING');
  return {
    nodeName,
    podName: present(env, 'MY_POD_NAME'),
    namespace: present(env, 'POD_NAMESPACE') ?? 'default',
    customNetworking: custom,
    selectKey,
    eniConfigKeys,
    annotatePodIp: readBool(env, 'ANNOTATE_POD_IP', false),
    reapIntervalMs: readInt(env, 'VPC_IPAM_K8S_REAP_INTERVAL_SECONDS', 300, { min: 1, max: 86_400 }) * 1000,
    reapConfirmMs: readInt(env, 'VPC_IPAM_K8S_REAP_CONFIRM_SECONDS', 60, { min: 1, max: 86_400 }) * 1000,
    publishIntervalMs: readInt(env, 'VPC_IPAM_K8S_PUBLISH_INTERVAL_SECONDS', 15, { min: 1, max: 3600 }) * 1000,
    heartbeatMs: readInt(env, 'VPC_IPAM_K8S_HEARTBEAT_SECONDS', 300, { min: 10, max: 86_400 }) * 1000,
    maxPodsCeiling:
      ceilingRaw === undefined ? undefined : readInt(env, 'VPC_IPAM_MAX_PODS_CEILING', 0, { min: 0, max: 100_000 }),
    writeConflist: readBool(env, 'VPC_IPAM_WRITE_CONFLIST', true),
    confDir: present(env, 'HOST_CNI_CONFDIR_PATH') ?? DEFAULT_CNI_CONF_DIR,
    binDir: present(env, 'HOST_CNI_BIN_PATH') ?? DEFAULT_CNI_BIN_DIR,
    timeoutMs: readInt(env, 'VPC_IPAM_K8S_TIMEOUT_SECONDS', 10, { min: 1, max: 300 }) * 1000,
    eventIntervalMs: readInt(env, 'VPC_IPAM_K8S_EVENT_INTERVAL_SECONDS', 30, { min: 0, max: 3600 }) * 1000,
  };
}

/** A node label or annotation key; unset or empty is the AWS default, as the AWS VPC CNI reads it. */
function readKey(env: Env, name: string): string {
  const key = present(env, name) ?? DEFAULT_ENICONFIG_KEY;
  if (!LABEL_KEY_RE.test(key)) throw new ConfigError(name, `"${key}" is not a valid label or annotation key`);
  return key;
}
