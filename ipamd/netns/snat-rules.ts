/**
 * @module node netfilter rules (pure)
 * What the node's netfilter must hold for Pods, as data and as `iptables-restore` text, mirroring the AWS VPC
 * CNI (`pkg/networkutils/network.go`):
 * - nat `VPC-IPAM-SNAT`, jumped to from POSTROUTING: Pod traffic that leaves the VPC is SNATed to the node's
 *   primary address, because an Internet or NAT gateway translates only an interface's primary address and
 *   a Pod on a secondary address would get no answer. Off with AWS_VPC_K8S_CNI_EXTERNALSNAT.
 * - mangle `VPC-IPAM-NODEPORT`, jumped to from PREROUTING: the NodePort return path (connmark, below).
 *
 * Only our own chains are declared in the restore text. A chain declared there is flushed and refilled even
 * with `--noflush`, so applying the same text twice leaves one copy of every rule, and nothing of kube-proxy's
 * or anyone else's is touched. The jumps from built-in chains cannot be written that way (restore would
 * append a second one each time); they are returned as argv for `iptables -C/-A/-D`.
 *
 * Every value reaches the text only through {@link validateNetfilterSpec}: addresses, CIDRs and names are
 * checked against closed character sets, so nothing can end a line, a quote or an option early.
 */

import { Address4 } from 'ip-address';
import { ConfigError } from '../../providers/errors.js';

export type SnatRandomization = 'prng' | 'hashrandom' | 'none';

export interface NodeNetfilterSpec {
  /** The node's primary private IPv4: SNAT `--to-source`. */
  primaryIp: string;
  /** Linux name of the primary interface (eth0, ens5). */
  primaryIf: string;
  /** Every VPC CIDR block (IPv4): never SNATed. */
  vpcCidrs: string[];
  /** AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: never SNATed. */
  excludeSnatCidrs: string[];
  /** AWS_VPC_K8S_CNI_EXTERNALSNAT: true = no SNAT chain at all. */
  externalSnat: boolean;
  /** AWS_VPC_K8S_CNI_RANDOMIZESNAT. */
  randomizeSnat: SnatRandomization;
  /** AWS_VPC_CNI_NODE_PORT_SUPPORT. */
  nodePortSupport: boolean;
  /** AWS_VPC_K8S_CNI_CONNMARK (default 0x80): used as mark and as mask. */
  connmark: number;
  /** AWS_VPC_K8S_CNI_VETHPREFIX ('vpc' when unset: host veths are vpc<11 hex>). */
  vethPrefix: string;
  /** Prefixes host veths of assigned Pods still carry from before the prefix changed: restored on too. */
  formerVethPrefixes?: string[];
}

export type NetfilterTable = 'nat' | 'mangle';

export const SNAT_CHAIN = 'VPC-IPAM-SNAT';
export const NODEPORT_CHAIN = 'VPC-IPAM-NODEPORT';
/** Every chain of ours starts with this; chains of older versions with other names are still found and removed. */
export const OWN_CHAIN_PREFIX = 'VPC-IPAM-';
/** What a chain name read back from iptables-save must look like before it goes on a command line. */
export const OWN_CHAIN_RE = /^VPC-IPAM-[A-Za-z0-9_-]{1,19}$/;

/** One of our chains, where it is jumped to from, and the jump's comment. */
export interface OwnChain {
  table: NetfilterTable;
  chain: string;
  from: 'POSTROUTING' | 'PREROUTING';
  jumpComment: string;
}

export const OWN_CHAINS: readonly OwnChain[] = [
  { table: 'nat', chain: SNAT_CHAIN, from: 'POSTROUTING', jumpComment: 'vpc-ipam SNAT' },
  { table: 'mangle', chain: NODEPORT_CHAIN, from: 'PREROUTING', jumpComment: 'vpc-ipam NodePort' },
];

export interface RenderedChain {
  table: NetfilterTable;
  chain: string;
  /** Each rule's argv after `-A <chain>`, in order. */
  rules: string[][];
}

export interface RenderedJump {
  table: NetfilterTable;
  /** The built-in chain that jumps. */
  chain: 'POSTROUTING' | 'PREROUTING';
  target: string;
  /** argv after the chain name: `iptables -t <table> -C|-A|-D <chain> ...args`. */
  args: string[];
}

export interface RenderedNetfilter {
  /** iptables-restore input for `--noflush`; '' when nothing is wanted. */
  restore: string;
  /** Nothing to install: apply() only removes what is ours. */
  empty: boolean;
  chains: RenderedChain[];
  jumps: RenderedJump[];
  /** Our chains that must not exist (with their jumps) under this spec. */
  unwanted: OwnChain[];
}

/** A spec field failed validation; `field` names it (also in the message, with its variable). */
export class NetfilterSpecError extends ConfigError {
  constructor(
    readonly field: keyof NodeNetfilterSpec,
    message: string,
  ) {
    super(field, `${message}${VARIABLES[field] ? ` (${VARIABLES[field]})` : ''}`);
  }
}

const VARIABLES: Partial<Record<keyof NodeNetfilterSpec, string>> = {
  excludeSnatCidrs: 'AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS',
  externalSnat: 'AWS_VPC_K8S_CNI_EXTERNALSNAT',
  randomizeSnat: 'AWS_VPC_K8S_CNI_RANDOMIZESNAT',
  nodePortSupport: 'AWS_VPC_CNI_NODE_PORT_SUPPORT',
  connmark: 'AWS_VPC_K8S_CNI_CONNMARK',
  vethPrefix: 'AWS_VPC_K8S_CNI_VETHPREFIX',
};

const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const VETH_PREFIX_RE = /^[a-z0-9]{1,8}$/;
const DOTTED_QUAD_RE = /^\d{1,3}(\.\d{1,3}){3}$/;
const RANDOMIZATIONS: readonly SnatRandomization[] = ['prng', 'hashrandom', 'none'];

function ipv4(field: keyof NodeNetfilterSpec, v: unknown): string {
  // The regex first: Address4 also takes forms (a suffix, leading zeros) that must not reach the text.
  if (typeof v !== 'string' || !DOTTED_QUAD_RE.test(v) || !Address4.isValid(v)) {
    throw new NetfilterSpecError(field, `${JSON.stringify(v)} is not an IPv4 address in dotted-quad form`);
  }
  const canonical = new Address4(v).correctForm();
  if (canonical !== v) throw new NetfilterSpecError(field, `${JSON.stringify(v)}: write it as ${canonical}`);
  return v;
}

/** `a.b.c.d/n` with the host bits cleared (what iptables itself would store); a bare address is a /32. */
function cidr(field: keyof NodeNetfilterSpec, v: unknown): string {
  const bad = () => new NetfilterSpecError(field, `${JSON.stringify(v)} is not an IPv4 CIDR`);
  if (typeof v !== 'string') throw bad();
  const [addr, len, ...rest] = v.split('/');
  if (rest.length || addr === undefined || !DOTTED_QUAD_RE.test(addr) || !Address4.isValid(addr)) throw bad();
  if (len !== undefined && !/^(\d|[12]\d|3[0-2])$/.test(len)) throw bad();
  const a = new Address4(`${addr}/${len ?? '32'}`);
  return `${a.startAddress().correctForm()}/${a.subnetMask}`;
}

function cidrs(field: keyof NodeNetfilterSpec, v: unknown): string[] {
  if (!Array.isArray(v)) throw new NetfilterSpecError(field, 'must be a list of IPv4 CIDRs');
  return [...new Set(v.map((c) => cidr(field, c)))];
}

function ifName(field: keyof NodeNetfilterSpec, v: unknown): string {
  // No leading '-': iptables would still read it as the value of -i, but a reader of the rule would not.
  if (typeof v !== 'string' || !IFNAME_RE.test(v) || v === '.' || v === '..' || v.startsWith('-')) {
    throw new NetfilterSpecError(field, `${JSON.stringify(v)} is not a Linux interface name`);
  }
  return v;
}

function bool(field: keyof NodeNetfilterSpec, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new NetfilterSpecError(field, 'must be true or false');
  return v;
}

/**
 * Checks every field and returns a frozen copy with canonical, deduplicated CIDRs. Throws
 * {@link NetfilterSpecError} naming the first bad field. Everything that reaches a command line or restore
 * text has been through here.
 */
export function validateNetfilterSpec(s: NodeNetfilterSpec): NodeNetfilterSpec {
  if (typeof s !== 'object' || s === null) throw new NetfilterSpecError('primaryIp', 'no netfilter spec given');
  const externalSnat = bool('externalSnat', s.externalSnat);
  const vpcCidrs = cidrs('vpcCidrs', s.vpcCidrs);
  // Without a VPC CIDR the chain would SNAT Pod-to-Pod traffic inside the VPC too, breaking every peer's view.
  if (!externalSnat && vpcCidrs.length === 0) throw new NetfilterSpecError('vpcCidrs', 'no VPC CIDR while SNATing');
  if (!RANDOMIZATIONS.includes(s.randomizeSnat)) {
    throw new NetfilterSpecError('randomizeSnat', `${JSON.stringify(s.randomizeSnat)}: one of ${RANDOMIZATIONS}`);
  }
  if (!Number.isInteger(s.connmark) || s.connmark < 1 || s.connmark > 0xffffffff) {
    throw new NetfilterSpecError('connmark', `${JSON.stringify(s.connmark)} is not a mark in 0x1..0xffffffff`);
  }
  if (typeof s.vethPrefix !== 'string' || !VETH_PREFIX_RE.test(s.vethPrefix)) {
    throw new NetfilterSpecError('vethPrefix', `${JSON.stringify(s.vethPrefix)}: 1 to 8 of a-z, 0-9`);
  }
  const former = s.formerVethPrefixes ?? [];
  if (!Array.isArray(former) || former.length > 16 || former.some((p) => !VETH_PREFIX_RE.test(p))) {
    throw new NetfilterSpecError('formerVethPrefixes', `${JSON.stringify(former)}: at most 16 of 1 to 8 of a-z, 0-9`);
  }
  const formerVethPrefixes = [...new Set(former)].filter((p) => p !== s.vethPrefix);
  return Object.freeze({
    primaryIp: ipv4('primaryIp', s.primaryIp),
    primaryIf: ifName('primaryIf', s.primaryIf),
    vpcCidrs,
    excludeSnatCidrs: cidrs('excludeSnatCidrs', s.excludeSnatCidrs),
    externalSnat,
    randomizeSnat: s.randomizeSnat,
    nodePortSupport: bool('nodePortSupport', s.nodePortSupport),
    connmark: s.connmark,
    vethPrefix: s.vethPrefix,
    ...(formerVethPrefixes.length ? { formerVethPrefixes } : {}),
  });
}

/** `0x80`: the form iptables-save prints marks in. */
export const hexMark = (m: number): string => `0x${m.toString(16)}`;

const comment = (text: string): string[] => ['-m', 'comment', '--comment', `vpc-ipam: ${text}`];

/**
 * Rules are written in the order iptables-save prints them (interface and address first, then matches in the
 * order given, then the target and its options), so the text read back differs from ours at most in quoting.
 */
function snatRules(s: NodeNetfilterSpec, features: { randomFully: boolean }): string[][] {
  const rules: string[][] = [];
  // Inside the VPC the Pod's own address routes (the VPC knows it), and peers and security groups expect it.
  for (const c of s.vpcCidrs) rules.push(['-d', c, ...comment('VPC CIDR, not SNATed'), '-j', 'RETURN']);
  // Networks reached through a VPN, peering or transit gateway that route Pod addresses themselves.
  for (const c of s.excludeSnatCidrs) {
    if (!s.vpcCidrs.includes(c)) rules.push(['-d', c, ...comment('excluded from SNAT'), '-j', 'RETURN']);
  }
  const snat = ['-j', 'SNAT', '--to-source', s.primaryIp];
  // --random-fully: many Pods share one source address, and sequential port choice on it collides with
  // connections the far end still remembers (AWS CNI #1171); --random where the binary is too old (< 1.6.2).
  if (s.randomizeSnat === 'prng') snat.push(features.randomFully ? '--random-fully' : '--random');
  if (s.randomizeSnat === 'hashrandom') snat.push('--random');
  // Not to the node's own addresses: those are delivered locally, nothing leaves the VPC.
  rules.push([...comment('SNAT to the primary IP'), '-m', 'addrtype', '!', '--dst-type', 'LOCAL', ...snat]);
  return rules;
}

function nodePortRules(s: NodeNetfilterSpec): string[][] {
  const m = hexMark(s.connmark);
  return [
    // A connection that arrives on the primary interface for a node address is a NodePort (or other node
    // service) before kube-proxy's DNAT: mark the connection, so its replies can be recognised later.
    [
      '-i',
      s.primaryIf,
      ...comment('NodePort connection'),
      '-m',
      'addrtype',
      '--dst-type',
      'LOCAL',
      '--limit-iface-in',
      '-j',
      'CONNMARK',
      '--set-xmark',
      `${m}/${m}`,
    ],
    // Replies from a Pod get the mark back onto the packet: the ip rule `fwmark <m>/<m> lookup main` (1024)
    // then sends them out of the primary interface they came in on, not the Pod's interface table, whose
    // interface EC2's source/destination check would drop them on (wrong source for that interface).
    ...[s.vethPrefix, ...(s.formerVethPrefixes ?? [])].map((prefix) => [
      '-i',
      `${prefix}+`,
      ...comment('NodePort reply mark'),
      '-j',
      'CONNMARK',
      '--restore-mark',
      '--nfmask',
      m,
      '--ctmask',
      m,
    ]),
  ];
}

/** One argv as iptables-restore reads it; only comments have spaces, and validated values have no quotes. */
export function restoreLine(chain: string, args: readonly string[]): string {
  return ['-A', chain, ...args.map((a) => (/^[A-Za-z0-9_.:/+!-]+$/.test(a) ? a : `"${a}"`))].join(' ');
}

/**
 * What apply() installs for `s` (validated first). `features.randomFully`: the chosen iptables supports
 * `--random-fully` (1.6.2 and later).
 */
export function renderNetfilter(spec: NodeNetfilterSpec, features: { randomFully: boolean }): RenderedNetfilter {
  const s = validateNetfilterSpec(spec);
  const chains: RenderedChain[] = [];
  if (!s.externalSnat) chains.push({ table: 'nat', chain: SNAT_CHAIN, rules: snatRules(s, features) });
  if (s.nodePortSupport) chains.push({ table: 'mangle', chain: NODEPORT_CHAIN, rules: nodePortRules(s) });
  const wanted = new Set(chains.map((c) => c.chain));
  const own = OWN_CHAINS.filter((o) => wanted.has(o.chain));
  const jumps: RenderedJump[] = own.map((o) => ({
    table: o.table,
    chain: o.from,
    target: o.chain,
    args: ['-m', 'comment', '--comment', o.jumpComment, '-j', o.chain],
  }));
  const text: string[] = [];
  for (const c of chains) {
    text.push(`*${c.table}`, `:${c.chain} - [0:0]`, ...c.rules.map((r) => restoreLine(c.chain, r)), 'COMMIT');
  }
  return {
    restore: text.length ? `${text.join('\n')}\n` : '',
    empty: chains.length === 0,
    chains,
    jumps,
    unwanted: OWN_CHAINS.filter((o) => !wanted.has(o.chain)),
  };
}
