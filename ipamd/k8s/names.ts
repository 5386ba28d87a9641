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

/** Node label or annotation whose value names this node's PodSubnetConfig (ENIConfig-style). */
export const PSC_SELECT_KEY = 'vpc-ipam.io/pod-subnet-config';
/** The zone label: a PodSubnetConfig named after the node's zone is the default. */
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

/** Computed max Pods (label and annotation; the label makes it selectable). */
export const MAX_PODS_KEY = 'vpc-ipam.io/max-pods';
/** Pool usage JSON for the cluster-wide monitor, see {@link PublishedPoolUsage}. */
export const POOL_USAGE_ANNOTATION = 'vpc-ipam.io/pool-usage';
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

/** Source component on Events. */
export const EVENT_COMPONENT = 'vpc-ipamd';

export const CONFLIST_NAME = '10-vpc-ipam.conflist';
export const DEFAULT_CNI_CONF_DIR = '/host/etc/cni/net.d';
export const DEFAULT_CNI_BIN_DIR = '/host/opt/cni/bin';
/** The plugin's `type` (binary name in the CNI bin dir) and default network name. */
export const PLUGIN_TYPE = 'vpc-ipam';
export const NETWORK_NAME = 'vpc-ipam';

/** Lease the cluster-wide monitor replicas compete for. */
export const MONITOR_LEASE_NAME = 'vpc-ipam-monitor';
