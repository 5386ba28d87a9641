/**
 * @module host network settings
 * The AWS VPC CNI's host-networking variables (pkg/networkutils/network.go), same names and defaults.
 */
import { readBool, readCidrList, readEnum, readMark, type Env } from './readers.js';

export interface HostNetworkSettings {
  /**
   * AWS_VPC_K8S_CNI_EXTERNALSNAT: true = no SNAT here; Pods on secondary interfaces route everything by their table.
   */
  externalSnat: boolean;
  /** AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: destinations (besides the VPC) that keep the Pod's own source. */
  excludeSnatCidrs: string[];
  /** AWS_VPC_K8S_CNI_RANDOMIZESNAT: prng = --random-fully, hashrandom = --random, none. */
  randomizeSnat: 'prng' | 'hashrandom' | 'none';
  /** AWS_VPC_CNI_NODE_PORT_SUPPORT: connmark + fwmark so NodePort replies leave by the primary interface. */
  nodePortSupport: boolean;
  /** AWS_VPC_K8S_CNI_CONNMARK: mark and mask (default 0x80; kube-proxy uses 0xc000, Calico 0xffff0000). */
  connmark: number;
  /** VPC_IPAM_IPTABLES_MODE: auto (what the host uses, as kube-proxy decides), nft or legacy. */
  iptablesMode: 'auto' | 'nft' | 'legacy';
}

export function parseHostNetwork(env: Env): HostNetworkSettings {
  return Object.freeze({
    externalSnat: readBool(env, 'AWS_VPC_K8S_CNI_EXTERNALSNAT', false),
    excludeSnatCidrs: readCidrList(env, 'AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS'),
    randomizeSnat: readEnum(env, 'AWS_VPC_K8S_CNI_RANDOMIZESNAT', ['prng', 'hashrandom', 'none'] as const, 'prng'),
    nodePortSupport: readBool(env, 'AWS_VPC_CNI_NODE_PORT_SUPPORT', true),
    connmark: readMark(env, 'AWS_VPC_K8S_CNI_CONNMARK', 0x80),
    iptablesMode: readEnum(env, 'VPC_IPAM_IPTABLES_MODE', ['auto', 'nft', 'legacy'] as const, 'auto'),
  });
}
