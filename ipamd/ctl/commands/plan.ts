/**
 * @module ctl plan
 * `vpc-ipamctl plan --subnet CIDR --instance-type TYPE --mode ips|prefix
 * [--nodes N] [--pods-per-node P] [--env KEY=VALUE]... [--json]`: how many
 * nodes and Pods fit in a subnet at given pool settings, the warm-pool
 * overhead per node, where prefixes fragment (a seeded EC2-like placement on
 * the sim cloud), and what subnet size a target of N nodes needs.
 * Limits come from the EC2 table (providers/limits), pool math from the
 * daemon's own planner (monitor/node-footprint.ts), sizing from
 * monitor/capacity-plan.ts.
 */
import { Address4 } from 'ip-address';
import { ConfigError } from '../../../providers/errors.js';
import { ec2MaxPods, lookupEc2Limits } from '../../../providers/limits/ec2-limits.js';
import { parseConfig } from '../../config.js';
import { planCapacity, type PlanResult } from '../../monitor/capacity-plan.js';
import { nodeFootprint, type FootprintInput, type NodeFootprint } from '../../monitor/node-footprint.js';
import { simulatePlacement, type PlacementResult } from '../../monitor/placement-sim.js';
import { readReserved } from '../../config/monitor.js';
import { analyzeSubnet } from '../../monitor/subnet-space.js';
import { parseFlags, UsageError, type CtlCommand } from '../command.js';

const USAGE = `vpc-ipamctl plan --subnet CIDR --instance-type TYPE --mode ips|prefix
    [--nodes N] [--pods-per-node P] [--env KEY=VALUE]... [--provider aws|azure|gcp]
    [--seed N] [--json]
  --env takes the daemon's pool variables (WARM_ENI_TARGET, WARM_IP_TARGET, MINIMUM_IP_TARGET,
  WARM_PREFIX_TARGET, MAX_ENI, AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG); --pods-per-node defaults to max pods − 2.`;

type Flags = Record<string, string | boolean | string[] | undefined>;

function int(flags: Flags, name: string, min: number, max: number): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw))
    throw new UsageError(`--${name} expects a whole number, got "${String(raw)}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new UsageError(`--${name} must be ${min}..${max}, got ${n}`);
  return n;
}

function envOf(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--env expects KEY=VALUE, got "${kv}"`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

function row(f: NodeFootprint): string {
  const cells = [
    String(f.pods).padStart(5),
    String(f.interfaces).padStart(10),
    String(f.addresses).padStart(5),
    String(f.warm).padStart(5),
    String(f.subnetAddresses).padStart(16),
  ];
  return cells.join('  ');
}

export interface PlanOutput {
  instanceType: string;
  mode: 'ip' | 'prefix';
  maxPods: number;
  podsPerNode: number;
  settings: string;
  plan: PlanResult;
  placement?: PlacementResult;
}

/** Addresses in a /len, all usable (no cloud reservation): what a subnet of that size holds. */
function subnetSize(len: number): number {
  return analyzeSubnet(`10.0.0.0/${len}`, [], { reserved: { first: 0, last: 0 }, prefixLength: 28 }).size;
}

/** `1 node`, `3 nodes`: counts in sentences read as English. */
function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function text(o: PlanOutput, p: PlanResult, sizes: NodeFootprint[]): string {
  const unit = o.mode === 'prefix' ? 'prefix' : 'IP';
  const lines = [
    `Instance ${o.instanceType}: ${p.full.capacity / (o.mode === 'prefix' ? 16 : 1)} ${unit} slots ` +
      `(${p.full.capacity} Pod addresses), max pods ${o.maxPods}; planning ${count(o.podsPerNode, 'Pod')} per node`,
    `Pool settings: ${o.settings}`,
    'Per node (warm-pool overhead = addresses held beyond the Pods; ' +
      'subnet addresses include one primary per interface):',
    `  pods  interfaces   pool   warm  subnet addresses`,
    ...sizes.map((f) => `  ${row(f)}`),
    `Subnet ${p.subnet.cidr}: ${p.subnet.total} usable addresses, ${p.subnet.prefixBlocks} delegable /28s`,
  ];
  if (p.fit.exact) {
    const { nodes, pods } = p.fit.exact;
    const per = `${count(p.full.subnetAddresses, 'address', 'addresses')} per node at ${count(p.full.pods, 'Pod')}`;
    lines.push(`Fits ${count(nodes, 'node')} = ${count(pods, 'Pod')} (${per})`);
  }
  if (p.fit.best && p.fit.worst) {
    const k = p.full.subnetInterfaces;
    const breaks = k === 1 ? 'the interface /32 of each node' : `each of the ${k} interface /32s per node`;
    lines.push(
      `Fits ${count(p.fit.best.nodes, 'node')} = ${count(p.fit.best.pods, 'Pod')} at best ` +
        '(prefix CIDR reservation: interface /32s kept out of the /28s)',
      `     ${count(p.fit.worst.nodes, 'node')} = ${count(p.fit.worst.pods, 'Pod')} at worst ` +
        `(${breaks} breaks a /28)`,
    );
  }
  const sim = o.placement;
  if (sim) {
    const why = sim.stoppedBy ? `then ${sim.stoppedBy.cloudCode}` : 'no refusal';
    const largest = sim.end.largestFreeBlock ? `/${sim.end.largestFreeBlock.prefixLength}` : 'none';
    lines.push(
      `Random placement (EC2-like, seeded): ${count(sim.nodes, 'node')} = ${count(sim.pods, 'Pod')}, ${why}; ` +
        `${sim.end.free} addresses left free, ${sim.end.freePrefixBlocks} free /28s, largest free block ${largest} ` +
        `(${Math.round(sim.end.fragmentation * 100)}% of free addresses stranded outside whole /28s)`,
    );
  }
  if (p.need) {
    const n = p.need;
    const fmt = (len: number | undefined) =>
      len === undefined ? 'more than a /8' : `a /${len} (${subnetSize(len)} addresses)`;
    const forN = `For ${count(n.nodes, 'node')}`;
    if (o.mode !== 'prefix') lines.push(`${forN}: ${fmt(n.exact)}`);
    else lines.push(`${forN}: ${fmt(n.best)} with a prefix CIDR reservation, ${fmt(n.worst)} without one (worst case)`);
  }
  return lines.join('\n');
}

export const planCommand: CtlCommand = {
  name: 'plan',
  summary: 'size subnets: nodes and Pods that fit, warm-pool overhead, /28 fragmentation',
  usage: USAGE,
  async run(argv) {
    const { flags, rest } = parseFlags(argv, {
      subnet: 'string',
      'instance-type': 'string',
      mode: 'string',
      nodes: 'string',
      'pods-per-node': 'string',
      env: 'multi',
      provider: 'string',
      seed: 'string',
      json: 'boolean',
    });
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const cidr = flags.subnet;
    if (typeof cidr !== 'string') throw new UsageError('--subnet CIDR is required');
    const type = flags['instance-type'];
    if (typeof type !== 'string') throw new UsageError('--instance-type TYPE is required');
    const modeFlag = (flags.mode as string | undefined) ?? 'ips';
    if (modeFlag !== 'ips' && modeFlag !== 'prefix')
      throw new UsageError(`--mode must be ips or prefix, got "${modeFlag}"`);
    const mode = modeFlag === 'prefix' ? 'prefix' : 'ip';
    const provider = (flags.provider as string | undefined) ?? 'aws';
    if (provider !== 'aws' && provider !== 'azure' && provider !== 'gcp')
      throw new UsageError(`--provider must be aws, azure or gcp, got "${provider}"`);
    const limits = lookupEc2Limits(type);
    if (!limits) throw new UsageError(`--instance-type ${type} is not in the EC2 limits table`);
    if (mode === 'prefix' && !limits.supportsPrefixes)
      throw new UsageError(`--mode prefix: ${type} cannot take delegated prefixes (Nitro instances only)`);
    const env = envOf((flags.env as string[] | undefined) ?? []);
    let config;
    try {
      config = parseConfig({ ...env, ENABLE_PREFIX_DELEGATION: String(mode === 'prefix') });
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(`--env ${err.message}`);
      throw err;
    }
    // The daemon's own reading (either variable), so the plan and a node agree.
    const customNetworking = config.customNetworking.enabled;
    const maxPods = ec2MaxPods(limits, {
      prefixDelegation: mode === 'prefix',
      customNetworking,
      ...(config.maxInterfaces ? { maxEnis: config.maxInterfaces } : {}),
    });
    const footprint: FootprintInput = {
      limits: {
        maxInterfaces: Math.min(config.maxInterfaces ?? Infinity, limits.maxInterfaces),
        slotsPerInterface: limits.ipv4PerInterface - 1,
        canCreateInterfaces: true,
      },
      targets: config.targets,
      mode,
      blockSize: mode === 'prefix' ? 16 : 1,
      primaryUnusable: customNetworking,
    };
    const podsPerNode = int(flags, 'pods-per-node', 0, 100_000) ?? Math.max(0, maxPods - 2);
    let plan: PlanResult;
    try {
      plan = planCapacity({
        subnetCidr: cidr,
        reserved: readReserved({}, provider),
        prefixLength: limits.prefixLength,
        footprint,
        podsPerNode,
        ...(flags.nodes !== undefined ? { nodes: int(flags, 'nodes', 1, 1_000_000)! } : {}),
      });
    } catch (err) {
      throw new UsageError(`--subnet: ${(err as Error).message}`);
    }
    const t = config.targets;
    const out: PlanOutput = {
      instanceType: type,
      mode,
      maxPods,
      podsPerNode,
      settings:
        `WARM_ENI_TARGET=${t.warmInterfaces} WARM_IP_TARGET=${t.warmIps} MINIMUM_IP_TARGET=${t.minimumIps} ` +
        `WARM_PREFIX_TARGET=${t.warmPrefixes}${config.maxInterfaces ? ` MAX_ENI=${config.maxInterfaces}` : ''}` +
        `${customNetworking ? ' custom networking' : ''}`,
      plan,
    };
    const subnetLen = new Address4(plan.subnet.cidr).subnetMask;
    // The sim cloud holds /16../28 subnets (EC2's range); the random placement is where /28s fragment.
    if (mode === 'prefix' && subnetLen >= 16 && subnetLen <= 28 && !customNetworking) {
      out.placement = simulatePlacement({
        subnetCidr: plan.subnet.cidr,
        instanceType: type,
        mode,
        footprint: plan.full,
        slotsPerInterface: footprint.limits.slotsPerInterface,
        seed: int(flags, 'seed', 0, 2 ** 31) ?? 1,
        maxNodes: 20_000,
      });
    }
    if (flags.json) {
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      return 0;
    }
    const sizes = [...new Set([0, Math.floor(podsPerNode / 2), podsPerNode])].map((p) =>
      p === podsPerNode ? plan.full : p === 0 ? plan.empty : nodeFootprint(footprint, p),
    );
    process.stdout.write(text(out, plan, sizes) + '\n');
    return 0;
  },
};
