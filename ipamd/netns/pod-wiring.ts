/**
 * @module Pod wiring (runs on the plumbing worker thread)
 * The AWS-VPC-CNI-style point-to-point wiring of one Pod, as three functions:
 * {@link wirePod}, {@link checkPod} and (via host-teardown) unwire. They get a
 * host rtnetlink socket and a way to open a socket inside the Pod netns from
 * the worker; they never call setns themselves (see README.md in this folder).
 *
 * Pod side:  <ifName> ip/32 up, `169.254.1.1 dev <ifName> scope link`,
 *            `default via 169.254.1.1`, PERMANENT neigh 169.254.1.1 → host veth MAC.
 * Host side: <hostIf> with an explicit random MAC, up, `<ip>/32 dev <hostIf> scope link` in main, and the
 *            policy rules of policy-rules.ts (`to <ip> lookup main` at 512 for every Pod; for a
 *            secondary-interface address `from <ip> to <dst> lookup <table>` at 1536 per destination).
 */

import { randomBytes } from 'node:crypto';

import * as fs from 'node:fs';
import { hostIfOf, type PodWiring } from './plumber.js';
import { openNetnsPath } from './netns-guard.js';
import { tearDownHostSide } from './host-teardown.js';
import {
  AF_INET,
  CREATE_EXCL,
  CREATE_REPLACE,
  OPTS,
  POD_GATEWAY,
  RT_TABLE_MAIN,
  deleteLinkByName,
  findLink,
  ip4,
  ip4ToString,
  linkRoute,
  listRoutes,
  macToString,
  step,
  vethLinkinfo,
  type RtSocket,
} from '../../cni/contract/netlink-ops.js';
import { podRuleDeletes } from '../../cni/contract/pod-rules.js';
import { listRules, podRuleAdds, podRuleProblems, replacePodRules, type PodRuleSpec } from './policy-rules.js';
import { NLM_F_ECHO, RTM, body, echoedLink, mustAll, runBatch, type BatchRequest } from './netlink-batch.js';

/**
 * A random locally administered unicast MAC for the host veth, set at creation. The kernel's own random
 * MAC is marked NET_ADDR_RANDOM, and systemd-udev's `MACAddressPolicy=persistent` (Ubuntu 22.04+,
 * AWS VPC CNI #2103) then rewrites it, which silently invalidates the Pod's PERMANENT neighbour entry.
 * A set address is NET_ADDR_SET, which udev leaves alone. 46 random bits: no collision check needed.
 */
export function randomHostMac(): Buffer {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfc) | 0x02;
  return b;
}

/** The rules a Pod's address needs (policy-rules.ts). */
export function podRuleSpec(w: Pick<PodWiring, 'ip' | 'routeTable' | 'tableDestinations'>): PodRuleSpec {
  return { ip: w.ip, table: w.routeTable, destinations: w.tableDestinations ?? ['0.0.0.0/0'] };
}

/** What the worker needs from its thread: the host socket and a netns-bound socket factory. */
export interface WiringContext {
  host: RtSocket;
  /** Opens an rtnetlink socket bound to the netns behind `nsFd` (setns dance inside). */
  openIn(nsFd: number): RtSocket;
  /** Throws unless `nsFd` is a network namespace that is neither the host's nor ipamd's (netns-guard.ts). */
  vet(nsFd: number, path: string): void;
}

export interface WiredPodFull {
  hostIf: string;
  podMac: string;
  hostMac: string;
}

/** Opens a Pod's namespace and vets it before anything is touched; closes it again when refused. */
export function openPodNetns(ctx: Pick<WiringContext, 'vet'>, path: string): number {
  const fd = openNetnsPath(path);
  try {
    ctx.vet(fd, path);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return fd;
}

/**
 * Creates the wiring in three batched round trips (netlink-batch.ts): the veth, made up and with both MACs
 * set, its peer already in the Pod; the Pod's address, routes and neighbour; the host route and rules. On
 * any failure it deletes the host veth (which removes the Pod end, its addresses and routes, and the host
 * route) and the rule, then rethrows: the kernel is left as it was found, except that a stale host veth of
 * the same name (a crashed earlier attempt) is replaced.
 */
export async function wirePod(ctx: WiringContext, w: PodWiring): Promise<WiredPodFull> {
  const hostIf = hostIfOf(w);
  const h = ctx.host;
  const podNsFd = openPodNetns(ctx, w.netnsPath);
  let pod: RtSocket | undefined;
  let created = false;
  // Both MACs are ours, so the neighbour entry and the answer need no lookup.
  const hostMac = randomHostMac();
  const podMac = randomHostMac();
  try {
    const link = await createVeth(h, w, podNsFd, hostMac, podMac);
    created = true;
    pod = ctx.openIn(podNsFd);
    const p = pod;
    const podIndex = link.peerIndex ?? (await step(`look up ${w.ifName} in Pod`, () => findLink(p, w.ifName)))?.index;
    if (!podIndex) throw new Error(`Pod interface ${w.ifName} vanished after creation`);
    mustAll(runBatch(pod, podSide(w, podIndex, hostMac)));
    await hostSide(h, w, link.index);
    return { hostIf, podMac: macToString(podMac)!, hostMac: macToString(hostMac)! };
  } catch (err) {
    if (created) {
      // Best effort: report the original failure, not a rollback hiccup.
      await tearDownHostSide({ hostIf, ip: w.ip, ownsAddress: true }, h).catch(() => undefined);
    }
    throw err;
  } finally {
    pod?.socket.close();
    fs.closeSync(podNsFd);
  }
}

const UP = { flags: { up: true }, change: { up: true } } as const;

/** Makes the veth (host end up, both MACs set, the peer inside the Pod); answers the host index and the peer's. */
async function createVeth(h: RtSocket, w: PodWiring, podNsFd: number, hostMac: Buffer, podMac: Buffer) {
  const hostIf = hostIfOf(w);
  // The peer cannot come up in the same request (veth_open answers ENOTCONN before the pair is joined).
  const linkinfo = vethLinkinfo(w.ifName, podNsFd, w.mtu, podMac);
  const req: BatchRequest = {
    step: `create veth ${hostIf} with peer ${w.ifName} in ${w.netnsPath}`,
    type: RTM.NEWLINK,
    flags: CREATE_EXCL | NLM_F_ECHO,
    body: body.link(UP, { ifname: hostIf, mtu: w.mtu, address: hostMac, linkinfo }),
  };
  let [made] = runBatch(h, [req]);
  // A same-named host veth is a leftover of this very attachment (the name hashes the key) or, named after the
  // Pod, of an older sandbox of the same Pod: replace it, as the AWS plugin does. When EEXIST is the Pod's
  // ifName instead, nothing is deleted and the error stands.
  if (made!.errno === 'EEXIST' && (await step(`delete stale host veth ${hostIf}`, () => deleteLinkByName(h, hostIf))))
    [made] = runBatch(h, [req]);
  mustAll([made!]);
  const echoed = echoedLink(made!);
  if (echoed) return echoed;
  // Kernels before 6.1 do not echo a NEWLINK: look the link up by name (the Pod end, then, too).
  const host = await step(`look up ${hostIf}`, () => findLink(h, hostIf));
  if (!host) throw new Error(`host veth ${hostIf} vanished after creation`);
  return { index: host.index };
}

/** The Pod end: up, its /32, lo up, the gateway and default routes, the gateway's PERMANENT neighbour entry. */
function podSide(w: PodWiring, index: number, hostMac: Buffer): BatchRequest[] {
  const [gwHdr, gwAttrs] = linkRoute(POD_GATEWAY, index);
  const defaultRoute = {
    family: AF_INET,
    dstLen: 0,
    table: RT_TABLE_MAIN,
    protocol: 'BOOT',
    scope: 'UNIVERSE',
  } as const;
  return [
    {
      step: `address ${w.ip}/32 on ${w.ifName}`,
      type: RTM.NEWADDR,
      flags: CREATE_EXCL,
      body: body.address({ family: AF_INET, prefixlen: 32, index }, { local: ip4(w.ip), address: ip4(w.ip) }),
    },
    // Before the routes: a route out of a link that is down is refused (ENETDOWN).
    { step: `set ${w.ifName} up`, type: RTM.SETLINK, body: body.link({ ...UP, index }, {}) },
    // A new namespace's lo is down. By name, so it needs no lookup; setting an up link up changes nothing.
    { step: 'set lo up', type: RTM.SETLINK, body: body.link(UP, { ifname: 'lo' }) },
    {
      step: `route ${POD_GATEWAY} dev ${w.ifName}`,
      type: RTM.NEWROUTE,
      flags: CREATE_EXCL,
      body: body.route({ ...gwHdr }, { ...gwAttrs }),
    },
    {
      step: `default route via ${POD_GATEWAY}`,
      type: RTM.NEWROUTE,
      flags: CREATE_EXCL,
      body: body.route({ ...defaultRoute, type: 'UNICAST' }, { gateway: ip4(POD_GATEWAY), oif: index }),
    },
    {
      step: `neighbour ${POD_GATEWAY} -> ${macToString(hostMac)}`,
      type: RTM.NEWNEIGH,
      flags: CREATE_REPLACE,
      body: body.neighbor(
        { family: AF_INET, ifindex: index, state: { permanent: true } },
        { dst: ip4(POD_GATEWAY), lladdr: hostMac },
      ),
    },
  ];
}

/** The host route (REPLACE: ipamd has just assigned the address, so any other /32 to it is stale) and rules. */
async function hostSide(h: RtSocket, w: PodWiring, index: number): Promise<void> {
  const [hrHdr, hrAttrs] = linkRoute(w.ip, index);
  const spec = podRuleSpec(w);
  const deletes = podRuleDeletes(w.ip).map(([data, attrs]): BatchRequest => ({
    step: `delete old rules of ${w.ip}`,
    type: RTM.DELRULE,
    body: body.rule(data, attrs),
  }));
  const adds = podRuleAdds(spec).map(([name, data, attrs]): BatchRequest => ({
    step: name,
    type: RTM.NEWRULE,
    flags: CREATE_EXCL,
    body: body.rule(data, attrs),
  }));
  const route: BatchRequest = {
    step: `host route ${w.ip}/32 dev ${hostIfOf(w)}`,
    type: RTM.NEWROUTE,
    flags: CREATE_REPLACE,
    body: body.route({ ...hrHdr }, { ...hrAttrs }),
  };
  const answers = runBatch(h, [route, ...deletes, ...adds]);
  mustAll(answers.slice(0, 1 + deletes.length), ['ENOENT', 'ESRCH']);
  // A rule deleted here may have had a copy (an older version appended rules without EXCL): the add then meets
  // EEXIST, and the one-call-at-a-time path deletes until none is left.
  const added = answers.slice(1 + deletes.length);
  if (added.some((a) => a.errno === 'EEXIST')) await replacePodRules(h, spec);
  else mustAll(added);
}

/**
 * Verifies every piece {@link wirePod} makes and throws one Error listing all
 * that are missing or wrong (the caller turns it into a NetnsError).
 */
export async function checkPod(ctx: WiringContext, w: PodWiring): Promise<void> {
  const hostIf = hostIfOf(w);
  const h = ctx.host;
  const problems: string[] = [];
  const host = await findLink(h, hostIf);
  if (!host) problems.push(`host veth ${hostIf} missing`);
  else {
    if (!host.up) problems.push(`host veth ${hostIf} is down`);
    if (host.kind !== 'veth') problems.push(`${hostIf} is a ${host.kind ?? 'non-veth'} link`);
    if (host.mtu !== w.mtu) problems.push(`host veth ${hostIf} mtu ${host.mtu} != ${w.mtu}`);
    const routes = await listRoutes(h);
    if (!routes.some((r) => r.dst === w.ip && r.dstLen === 32 && r.oif === host.index))
      problems.push(`host route ${w.ip}/32 dev ${hostIf} missing`);
  }
  problems.push(...podRuleProblems(await listRules(h), podRuleSpec(w)));
  let podNsFd: number | undefined;
  try {
    podNsFd = openPodNetns(ctx, w.netnsPath);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (podNsFd !== undefined) {
    const p = ctx.openIn(podNsFd);
    try {
      await checkPodSide(p, w, host?.mac, problems);
    } finally {
      p.socket.close();
      fs.closeSync(podNsFd);
    }
  }
  if (problems.length) throw new Error(problems.join('; '));
}

async function checkPodSide(p: RtSocket, w: PodWiring, hostMac: string | undefined, problems: string[]): Promise<void> {
  const link = await findLink(p, w.ifName);
  if (!link) {
    problems.push(`interface ${w.ifName} missing in ${w.netnsPath}`);
    return;
  }
  if (!link.up) problems.push(`${w.ifName} is down`);
  if (link.mtu !== w.mtu) problems.push(`${w.ifName} mtu ${link.mtu} != ${w.mtu}`);
  const addrs = await p.getAddresses({ family: AF_INET, index: link.index }, {}, OPTS);
  const has = addrs.some(
    (a) =>
      a.data.index === link.index && a.data.prefixlen === 32 && ip4ToString(a.attrs.local ?? a.attrs.address) === w.ip,
  );
  if (!has) problems.push(`${w.ip}/32 not on ${w.ifName}`);
  const routes = await listRoutes(p);
  if (!routes.some((r) => r.dst === POD_GATEWAY && r.dstLen === 32 && r.oif === link.index))
    problems.push(`route ${POD_GATEWAY} dev ${w.ifName} missing`);
  if (!routes.some((r) => r.dstLen === 0 && r.gateway === POD_GATEWAY && r.oif === link.index))
    problems.push(`default route via ${POD_GATEWAY} missing`);
  const neighs = await p.getNeighbors({ family: AF_INET, ifindex: link.index }, {}, OPTS);
  const gw = neighs.find((n) => n.data.ifindex === link.index && ip4ToString(n.attrs.dst) === POD_GATEWAY);
  if (!gw) problems.push(`neighbour ${POD_GATEWAY} missing`);
  else {
    if (!gw.data.state?.permanent) problems.push(`neighbour ${POD_GATEWAY} not PERMANENT`);
    const mac = macToString(gw.attrs.lladdr);
    if (hostMac && mac !== hostMac) problems.push(`neighbour ${POD_GATEWAY} lladdr ${mac} != host veth MAC ${hostMac}`);
  }
}
