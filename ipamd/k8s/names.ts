/**
 * @module k8s names
 * Every Kubernetes name vpc-ipam reads or writes, in one place: the CRD's
 * group/version/plural, the node labels, annotations and condition it
 * publishes, the event reasons, and the CNI config file name. Manifests in
 * deploy/ and docs/install.md use the same strings; test/deploy checks them.
 */

export const CRD_GROUP = 'vpc-ipam.io';
export const CRD_VERSION = 'v1alpha1';
export const PSC_KIND = 'PodSubnetConfig';
export const PSC_PLURAL = 'podsubnetconfigs';
/** The CRD's own name (`<plural>.<group>`), as `kubectl get crd` lists it. */
export const PSC_CRD_NAME = `${PSC_PLURAL}.${CRD_GROUP}`;

/** One per node, named as the Node: its pool (deploy/kustomize/base/crd-nodeaddresspool.yaml). */
export const NAP_KIND = 'NodeAddressPool';
export const NAP_PLURAL = 'nodeaddresspools';
export const NAP_CRD_NAME = `${NAP_PLURAL}.${CRD_GROUP}`;

/** Node label or annotation whose value names this node's PodSubnetConfig (ENIConfig-style). */
export const PSC_SELECT_KEY = 'vpc-ipam.io/pod-subnet-config';
/** The zone label: a PodSubnetConfig named after the node's zone is the default. */
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

/**
 * The AWS VPC CNI's ENIConfig (crd.k8s.amazonaws.com/v1alpha1, cluster-scoped), read under custom networking as
 * an alternative to the PodSubnetConfig (eni-config.ts). Its CRD is the aws-node installation's, never ours.
 */
export const ENICONFIG_GROUP = 'crd.k8s.amazonaws.com';
export const ENICONFIG_VERSION = 'v1alpha1';
export const ENICONFIG_PLURAL = 'eniconfigs';
export const ENICONFIG_CRD_NAME = `${ENICONFIG_PLURAL}.${ENICONFIG_GROUP}`;
/** Set out of band (kubelet flags, node bootstrap): wins over every other way of naming the ENIConfig. */
export const EXTERNAL_ENICONFIG_LABEL = 'vpc.amazonaws.com/externalEniConfig';
/** ENI_CONFIG_ANNOTATION_DEF and ENI_CONFIG_LABEL_DEF default to the same key. */
export const DEFAULT_ENICONFIG_KEY = 'k8s.amazonaws.com/eniConfig';
/** The ENIConfig a node names by none of its keys. */
export const DEFAULT_ENICONFIG_NAME = 'default';
/** ANNOTATE_POD_IP: the Pod's IP on ADD, blank after DEL (read by Calico, projectcalico/calico#3530). */
export const POD_IPS_ANNOTATION = 'vpc.amazonaws.com/pod-ips';

/** Computed max Pods (label and annotation; the label makes it selectable). */
export const MAX_PODS_KEY = 'vpc-ipam.io/max-pods';
/**
 * Pool usage JSON on the Node: what ipamd published before the NodeAddressPool, and still does while that
 * CRD is not installed (deprecated, for one release; the monitor reads both meanwhile).
 */
export const POOL_USAGE_ANNOTATION = 'vpc-ipam.io/pool-usage';
/** Its one-line human-readable companion, under the same terms. */
export const POOL_SUMMARY_ANNOTATION = 'vpc-ipam.io/pool-summary';
/** Node condition set while the pool is exhausted and cannot grow. */
export const POOL_EXHAUSTED_CONDITION = 'VpcIpamPoolExhausted';

/** Annotation the kubelet sets on mirror Pods: the static Pod's UID (what the CNI sees). */
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
export const CONFIG_HASH_ANNOTATION = 'kubernetes.io/config.hash';

/** Event reasons (stable: alerts and runbooks key on them). */
export const EVENT_REASONS = {
  poolGrowthFailed: 'PoolGrowthFailed',
  subnetExhausted: 'SubnetExhausted',
  poolExhausted: 'PoolExhausted',
  poolRecovered: 'PoolRecovered',
  staleAssignmentReleased: 'StaleAssignmentReleased',
  podSubnetConfigInvalid: 'PodSubnetConfigInvalid',
  /** No CNI spec version every chained plugin speaks (or a plugin binary refused): the conflist is not written. */
  cniVersionMismatch: 'CniVersionMismatch',
} as const;

/** Source component on Events (ipamd); the cluster monitor's is {@link MONITOR_EVENT_COMPONENT}. */
export const EVENT_COMPONENT = 'vpc-ipamd';
export const MONITOR_EVENT_COMPONENT = 'vpc-ipam-monitor';
/** `reportingComponent` is `<prefix>/<component>`: kube-apiserver wants a qualified name there. */
export const EVENT_CONTROLLER_PREFIX = 'vpc-ipam.io';

/**
 * Event `action` by reason: what ipamd was doing (machine-readable, ≤ 128
 * characters). kube-apiserver requires one on every Event that has an
 * eventTime. Reasons not listed get {@link DEFAULT_EVENT_ACTION}.
 */
export const EVENT_ACTIONS: Readonly<Record<string, string>> = {
  [EVENT_REASONS.poolGrowthFailed]: 'GrowPool',
  [EVENT_REASONS.subnetExhausted]: 'GrowPool',
  PoolGrowthBlocked: 'GrowPool',
  PoolGrowthResumed: 'GrowPool',
  [EVENT_REASONS.poolExhausted]: 'AssignAddress',
  [EVENT_REASONS.poolRecovered]: 'AssignAddress',
  [EVENT_REASONS.staleAssignmentReleased]: 'ReleaseAddress',
  [EVENT_REASONS.podSubnetConfigInvalid]: 'SelectPodSubnet',
  [EVENT_REASONS.cniVersionMismatch]: 'WriteCniConfig',
};
export const DEFAULT_EVENT_ACTION = 'Report';

export const CONFLIST_NAME = '10-vpc-ipam.conflist';
export const DEFAULT_CNI_CONF_DIR = '/host/etc/cni/net.d';
export const DEFAULT_CNI_BIN_DIR = '/host/opt/cni/bin';
// The plugin's `type` and default network name are the CNI executable's too.
export { NETWORK_NAME, PLUGIN_TYPE } from '../../cni/contract/plugin-name.js';

/** Lease the cluster-wide monitor replicas compete for. */
export const MONITOR_LEASE_NAME = 'vpc-ipam-monitor';
