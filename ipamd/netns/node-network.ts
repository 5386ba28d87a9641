/**
 * @module node network (daemon side)
 * The node-wide host networking a VPC asks for, kept in place from start to uninstall:
 * - the NodePort return path: `fwmark <m>/<m> lookup main` at 1024 (node-routing.ts, through the plumber)
 *   and the connmark rules that set and restore the mark (snat-rules.ts);
 * - SNAT of Pod traffic leaving the VPC to the node's primary address, unless AWS_VPC_K8S_CNI_EXTERNALSNAT
 *   (an Internet gateway translates only primary addresses, so a Pod on a secondary address would
 *   otherwise get no answer from the Internet);
 * - loose reverse-path filtering on the primary interface (a NodePort reply or an externally-SNATed Pod's
 *   traffic arrives on one interface and is routed back by another; the AWS CNI's init container does
 *   the same, and ours too: here it is only repaired when /proc/sys is writable);
 * - net.ipv4.tcp_early_demux as DISABLE_TCP_EARLY_DEMUX asks (the AWS CNI's init container sets it 0 when
 *   true, 1 otherwise; here only when the variable is set, and left alone on a kernel without it).
 * The connmark restore matches `-i <prefix>+` for AWS_VPC_K8S_CNI_VETHPREFIX, and for every other prefix that
 * host veths of assigned Pods still carry (wired before the prefix changed), until those Pods are gone.
 *
 * {@link NodeNetworkSync.ensure} runs after init and on every resync: it verifies first and rewrites only
 * what is missing or wrong, so ten restarts leave one copy of everything. It never rejects: a failure is
 * logged, kept for introspection and CHECK, and retried on the next resync.
 */

import * as fs from 'node:fs';
import { DEFAULT_VETH_PREFIX, hostVethSuffixes, vethPrefixOf, type VethKey } from '../../cni/contract/veth-name.js';
import type { NodeInventory } from '../../providers/types.js';
import type { HostNetworkSettings } from '../config.js';
import type { PodNetworkPlumber } from './plumber.js';
import type { NodeNetfilterSpec } from './snat-rules.js';

/** What this module needs of netfilter.ts's NodeNetfilter (a seam, so tests can count calls). */
export interface NetfilterPort {
  apply(spec: NodeNetfilterSpec): Promise<{ backend: string; changed: boolean }>;
  verify(spec: NodeNetfilterSpec): Promise<string[]>;
  remove(): Promise<string[]>;
}

export interface NodeNetworkLog {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
}

export interface NodeNetworkState {
  primaryIf?: string;
  backend?: string;
  /** What the last pass found wrong and could not fix; empty when all is in place. */
  problems: string[];
  lastPassAt?: number;
}

const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

/**
 * Destinations a secondary-interface Pod's from-rules send to its interface's table: the VPC and the SNAT
 * exclusions while ipamd SNATs (everything else takes main, leaves by the primary interface, and is SNATed),
 * everything with external SNAT (as the AWS VPC CNI's `VPCv4CIDRs` / `UseExternalSNAT`).
 */
export function tableDestinations(s: HostNetworkSettings, vpcCidrs: readonly string[]): string[] {
  if (s.externalSnat) return ['0.0.0.0/0'];
  return [...new Set([...vpcCidrs, ...s.excludeSnatCidrs])];
}

export class NodeNetworkSync {
  private st: NodeNetworkState = { problems: [] };
  private running: Promise<void> | undefined;
  private again = false;
  private node: NodeInventory | undefined;
  private warnedRpFilter = false;

  constructor(
    private readonly o: {
      plumber: PodNetworkPlumber;
      netfilter: NetfilterPort;
      settings: HostNetworkSettings;
      log: NodeNetworkLog;
      now: () => number;
      /** Where sysctls live (tests point it elsewhere). */
      procSys?: string;
      /** The host's links (read synchronously: sysfs shows the namespace of the thread that mounted it). */
      sysClassNet?: string;
      /** Every assigned attachment (the datastore's): their veths under an earlier prefix are recognised. */
      assigned?: () => readonly VethKey[];
    },
  ) {}

  state(): NodeNetworkState {
    return { ...this.st, problems: [...this.st.problems] };
  }

  /** Brings the node in line (see module comment). Passes never overlap; a call during one makes one more. */
  ensure(node: NodeInventory): Promise<void> {
    this.node = node;
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass(this.node!);
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  async idle(): Promise<void> {
    await this.running;
  }

  /** Live check for CHECK: every node-wide rule in place? One message per thing missing. */
  async problems(): Promise<string[]> {
    const node = this.node;
    if (!node || !this.o.plumber.checkNodeRouting) return [];
    const out = await this.o.plumber.checkNodeRouting(this.routing(node)).catch((e: Error) => [e.message]);
    const spec = this.spec(node, this.st.primaryIf);
    if (spec) out.push(...(await this.o.netfilter.verify(spec).catch((e: Error) => [e.message])));
    return out;
  }

  /** Uninstall: the fwmark rule and every netfilter rule of ours. */
  async remove(): Promise<string[]> {
    await this.idle();
    const removed = await this.o.netfilter.remove();
    await this.o.plumber.setUpNodeRouting?.({
      primaryMac: this.node?.interfaces[0]?.mac ?? '00:00:00:00:00:00',
      connmark: 0,
    });
    return [...removed, 'fwmark rule'];
  }

  private routing(node: NodeInventory) {
    const primary = node.interfaces.find((n) => n.deviceIndex === 0);
    return { primaryMac: primary?.mac ?? '', connmark: this.o.settings.nodePortSupport ? this.o.settings.connmark : 0 };
  }

  private spec(node: NodeInventory, primaryIf: string | undefined): NodeNetfilterSpec | undefined {
    const s = this.o.settings;
    const primary = node.interfaces.find((n) => n.deviceIndex === 0);
    if (!primary) return undefined;
    return {
      primaryIp: primary.primaryIp,
      // Without the link name the NodePort mark cannot be matched; SNAT still can.
      primaryIf: primaryIf ?? 'eth0',
      vpcCidrs: [...node.vpcCidrs],
      excludeSnatCidrs: [...s.excludeSnatCidrs],
      externalSnat: s.externalSnat,
      randomizeSnat: s.randomizeSnat,
      nodePortSupport: s.nodePortSupport && primaryIf !== undefined,
      connmark: s.connmark,
      vethPrefix: s.vethPrefix ?? DEFAULT_VETH_PREFIX,
      formerVethPrefixes: this.formerVethPrefixes(s.vethPrefix ?? DEFAULT_VETH_PREFIX),
    };
  }

  /** Prefixes of host veths of assigned Pods other than `current` (see the module comment), sorted. */
  private formerVethPrefixes(current: string): string[] {
    const suffixes = new Set((this.o.assigned?.() ?? []).flatMap((a) => hostVethSuffixes(a)));
    if (suffixes.size === 0) return [];
    let names: string[];
    try {
      names = fs.readdirSync(this.o.sysClassNet ?? '/sys/class/net');
    } catch {
      return [];
    }
    const found = new Set<string>();
    for (const name of names) {
      const prefix = vethPrefixOf(name);
      if (prefix !== undefined && prefix !== current && suffixes.has(name.slice(prefix.length))) found.add(prefix);
    }
    return [...found].sort();
  }

  private async pass(node: NodeInventory): Promise<void> {
    const { plumber, netfilter, log } = this.o;
    const problems: string[] = [];
    let primaryIf = this.st.primaryIf;
    if (plumber.setUpNodeRouting) {
      try {
        const r = await plumber.setUpNodeRouting(this.routing(node));
        primaryIf = r.primaryIf;
        if (r.changed.length) log.info({ changed: r.changed, primaryIf }, 'node routing rules set');
        if (!primaryIf) problems.push(`no link has the primary interface's MAC ${this.routing(node).primaryMac}`);
      } catch (err) {
        problems.push(`node routing: ${(err as Error).message}`);
      }
    }
    if (primaryIf) this.looseRpFilter(primaryIf, problems);
    this.tcpEarlyDemux(problems);
    const spec = this.spec(node, primaryIf);
    let backend = this.st.backend;
    if (spec) {
      try {
        const r = await netfilter.apply(spec);
        backend = r.backend;
        if (r.changed) {
          log.info(
            { backend, snat: !spec.externalSnat, nodePort: spec.nodePortSupport, vpcCidrs: spec.vpcCidrs },
            'netfilter rules installed (SNAT, NodePort connmark)',
          );
        }
      } catch (err) {
        problems.push(`netfilter: ${(err as Error).message}`);
      }
    }
    const before = this.st.problems.join('; ');
    this.st = {
      ...(primaryIf ? { primaryIf } : {}),
      ...(backend ? { backend } : {}),
      problems,
      lastPassAt: this.o.now(),
    };
    // Log changes only: passes repeat every resync.
    if (problems.length && problems.join('; ') !== before) {
      log.error({ problems }, 'node host networking incomplete; retrying on every resync');
    } else if (!problems.length && before) log.info({}, 'node host networking repaired');
  }

  /** DISABLE_TCP_EARLY_DEMUX, when set: 0 for true, 1 for false; written only when it differs. */
  private tcpEarlyDemux(problems: string[]): void {
    const disable = this.o.settings.disableTcpEarlyDemux;
    if (disable === undefined) return;
    const file = `${this.o.procSys ?? '/proc/sys'}/net/ipv4/tcp_early_demux`;
    const want = disable ? '0' : '1';
    let value: string;
    try {
      value = fs.readFileSync(file, 'utf8').trim();
    } catch {
      return; // older kernels have no such sysctl: the AWS CNI checks first too
    }
    if (value === want) return;
    try {
      fs.writeFileSync(file, `${want}\n`);
      this.o.log.info({ value: want }, 'net.ipv4.tcp_early_demux set (DISABLE_TCP_EARLY_DEMUX)');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push(
        `net.ipv4.tcp_early_demux is ${value} and cannot be set to ${want} (${code}): DISABLE_TCP_EARLY_DEMUX`,
      );
    }
  }

  /**
   * rp_filter is max(all, <if>): 2 on the interface makes it loose whatever `all` says. 0 (off) is left alone.
   * /proc/sys is read-only in an unprivileged container: then the init container's setting must do.
   */
  private looseRpFilter(ifname: string, problems: string[]): void {
    if (!IFNAME_RE.test(ifname) || ifname === '.' || ifname === '..') return;
    const file = `${this.o.procSys ?? '/proc/sys'}/net/ipv4/conf/${ifname}/rp_filter`;
    let value: string;
    try {
      value = fs.readFileSync(file, 'utf8').trim();
    } catch {
      return; // no such interface any more, or no /proc: nothing to loosen
    }
    if (value !== '1') return;
    try {
      fs.writeFileSync(file, '2\n');
      this.o.log.info({ ifname }, 'rp_filter set to 2 (loose) on the primary interface');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (!this.warnedRpFilter) {
        this.warnedRpFilter = true;
        this.o.log.warn({ ifname, code }, 'rp_filter of the primary interface is strict and cannot be set here');
      }
      problems.push(`rp_filter of ${ifname} is strict (1) and cannot be set to 2 (${code}): see the init container`);
    }
  }
}
