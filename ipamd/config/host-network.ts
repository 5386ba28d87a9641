/**
 * @module host network settings
 * The AWS VPC CNI's host-networking variables (pkg/networkutils/network.go), same names and defaults.
 */
import { DEFAULT_VETH_PREFIX, vethPrefixProblem } from '../../cni/contract/veth-name.js';
import { ConfigError } from '../../providers/errors.js';
import { present, readBool, readCidrList, readEnum, readMark, type Env } from './readers.js';

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
  /**
   * AWS_VPC_K8S_CNI_VETHPREFIX: host veths are `<prefix>` + the AWS CNI's hash of the Pod's name
   * (cni/contract/veth-name.ts). Undefined when unset or `vpc`: our own `vpc<hash of the attachment>` names,
   * which nodes had before, not the AWS default `eni`.
   */
  vethPrefix?: string;
  /**
   * DISABLE_TCP_EARLY_DEMUX: true sets net.ipv4.tcp_early_demux to 0, false to 1 (as the AWS CNI's init
   * container); undefined when unset, and the host's value is left alone.
   */
  disableTcpEarlyDemux?: boolean;
}

export function parseHostNetwork(env: Env): HostNetworkSettings {
  return Object.freeze({
    externalSnat: readBool(env, 'AWS_VPC_K8S_CNI_EXTERNALSNAT', false),
    excludeSnatCidrs: readCidrList(env, 'AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS'),
    randomizeSnat: readEnum(env, 'AWS_VPC_K8S_CNI_RANDOMIZESNAT', ['prng', 'hashrandom', 'none'] as const, 'prng'),
    nodePortSupport: readBool(env, 'AWS_VPC_CNI_NODE_PORT_SUPPORT', true),
    connmark: readMark(env, 'AWS_VPC_K8S_CNI_CONNMARK', 0x80),
    iptablesMode: readEnum(env, 'VPC_IPAM_IPTABLES_MODE', ['auto', 'nft', 'legacy'] as const, 'auto'),
    ...vethPrefixSetting(env),
    ...(present(env, 'DISABLE_TCP_EARLY_DEMUX') === undefined
      ? {}
      : { disableTcpEarlyDemux: readBool(env, 'DISABLE_TCP_EARLY_DEMUX', false) }),
  });
}

/** AWS_VPC_K8S_CNI_VETHPREFIX, validated; `{}` for our own naming. The conflist's `vethPrefix` reads it too. */
export function vethPrefixSetting(env: Env): Pick<HostNetworkSettings, 'vethPrefix'> {
  const name = 'AWS_VPC_K8S_CNI_VETHPREFIX';
  const raw = present(env, name);
  if (raw === undefined || raw === DEFAULT_VETH_PREFIX) return {};
  const problem = vethPrefixProblem(raw);
  if (problem) throw new ConfigError(name, problem);
  return { vethPrefix: raw };
}
