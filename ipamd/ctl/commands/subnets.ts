/**
 * @module ctl subnets
 * `vpc-ipamctl subnets`: the headroom table (free addresses, free /28s,
 * fragmentation, headroom) for every subnet a provider shows, read once.
 *
 * Sources:
 * - `--provider sim` (default) reads the sim cloud a sim daemon keeps in
 *   `--state-dir` (or VPC_IPAM_STATE_DIR); with `--seed N` it builds a demo
 *   cloud instead: `--nodes` nodes with their warm pools, `--occupy` random
 *   addresses taken by others;
 * - `--provider aws` asks EC2 through the AWS provider; `--endpoint URL`
 *   points it at an emulator (`vpc-ipamctl emulate`) for EC2 and IMDS;
 * - `--from HOST:PORT` prints the table a running ipamd (introspection) or
 *   cluster monitor serves at /v1/subnets, with pools, trend and ETA.
 */
import * as path from 'node:path';
import { parseConfig } from '../../config.js';
import type { SubnetReport } from '../../monitor/report.js';
import { SubnetMonitor, type SubnetReader } from '../../monitor/monitor.js';
import { nodeFootprint } from '../../monitor/node-footprint.js';
import { readReserved } from '../../config/monitor.js';
import { SimFileReader } from '../../monitor/sim-reader.js';
import { formatSubnetTable } from '../../monitor/table.js';
import { silentLogger } from '../../observability/logger.js';
import { createProvider } from '../../provider-factory.js';
import { SystemClock } from '../../util/clock.js';
import { SimCloud } from '../../../providers/sim/cloud.js';
import { ZERO_LATENCY } from '../../../providers/sim/latency.js';
import { SimProvider } from '../../../providers/sim/sim-provider.js';
import { lookupEc2Limits } from '../../../providers/limits/ec2-limits.js';
import type { SubnetFilter } from '../../../providers/types.js';
import { parseFlags, UsageError, type CtlCommand } from '../command.js';
import { introspectionGet } from '../introspection-get.js';

const USAGE = `vpc-ipamctl subnets [--provider sim|aws] [--json] [--mode ips|prefix]
    [--subnet ID]... [--vpc-id ID] [--tag KEY=VALUE]... [--reserved FIRST,LAST]
  sim:  [--state-dir DIR] | --seed N [--subnet-cidr CIDR] [--instance-type TYPE] [--nodes N] [--occupy N]
  aws:  [--endpoint URL]   (EC2 + IMDS of an emulator, e.g. vpc-ipamctl emulate)
  running daemon: --from 127.0.0.1:61679 or unix:PATH (its introspection; or a cluster monitor's :61680): /v1/subnets`;

type Flags = Record<string, string | boolean | string[] | undefined>;

function int(flags: Flags, name: string, def: number, min: number, max: number): number {
  const raw = flags[name];
  if (raw === undefined) return def;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw))
    throw new UsageError(`--${name} expects a whole number, got "${String(raw)}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new UsageError(`--${name} must be ${min}..${max}, got ${n}`);
  return n;
}

/** A demo sim cloud: nodes with the warm pools their settings give at zero Pods, plus foreign occupants. */
function demoCloud(flags: Flags, mode: 'ip' | 'prefix'): { cloud: SimCloud; instanceId: string } {
  const seed = int(flags, 'seed', 1, 0, 2 ** 31);
  const subnetCidr = (flags['subnet-cidr'] as string | undefined) ?? '10.0.0.0/24';
  const instanceType = (flags['instance-type'] as string | undefined) ?? 'm5.large';
  const limits = lookupEc2Limits(instanceType);
  if (!limits) throw new UsageError(`--instance-type ${instanceType} is not in the EC2 limits table`);
  const cloud = new SimCloud({ seed });
  const config = parseConfig({ ENABLE_PREFIX_DELEGATION: String(mode === 'prefix') });
  const fp = nodeFootprint(
    {
      limits: {
        maxInterfaces: limits.maxInterfaces,
        slotsPerInterface: limits.ipv4PerInterface - 1,
        canCreateInterfaces: true,
      },
      targets: config.targets,
      mode,
      blockSize: mode === 'prefix' ? 16 : 1,
    },
    0,
  );
  let first = '';
  for (let n = 0; n < int(flags, 'nodes', 3, 1, 1000); n++) {
    const id = cloud.seedNode({ instanceType, subnetCidr });
    first ||= id;
    const eni = cloud.getInstance(id).interfaces[0]!.id;
    // The warm pool a fresh node takes: fp.blocks on the primary (one interface's worth at most, as the footprint
    // says).
    const count = Math.min(fp.blocks, limits.ipv4PerInterface - 1);
    if (count > 0 && mode === 'prefix') cloud.assignPrefixes(eni, { count });
    else if (count > 0) cloud.assignPrivateIps(eni, { count });
  }
  const subnetId = cloud.describeSubnets().find((s) => s.cidr === subnetCidr)!.id;
  const occupy = int(flags, 'occupy', 0, 0, 1 << 16);
  if (occupy > 0) cloud.occupyRandom(subnetId, occupy);
  return { cloud, instanceId: first };
}

async function fromEndpoint(addr: string): Promise<SubnetReport[]> {
  const res = await introspectionGet(addr, '/v1/subnets').catch((err: Error) => {
    throw new Error(`cannot reach ${addr}: ${err.message} (is ipamd or the cluster monitor running?)`);
  });
  if (res.status !== 200) throw new Error(`${addr}/v1/subnets answered ${res.status}`);
  const body = JSON.parse(res.body) as { subnets?: SubnetReport[] };
  if (!Array.isArray(body.subnets)) throw new Error(`${addr}/v1/subnets did not return a subnet table`);
  return body.subnets;
}

function filterOf(flags: Flags): SubnetFilter | undefined {
  const f: SubnetFilter = {};
  const ids = flags.subnet as string[] | undefined;
  if (ids?.length) f.ids = ids;
  if (typeof flags['vpc-id'] === 'string') f.vpcId = flags['vpc-id'];
  for (const t of (flags.tag as string[] | undefined) ?? []) {
    const eq = t.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag expects KEY=VALUE, got "${t}"`);
    (f.tags ??= {})[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return Object.keys(f).length ? f : undefined;
}

async function readOnce(
  reader: SubnetReader,
  ids: string[],
  mode: 'ip' | 'prefix',
  reserved: { first: number; last: number },
): Promise<SubnetReport[]> {
  const m = new SubnetMonitor({
    provider: reader,
    clock: new SystemClock(),
    settings: { intervalMs: 0, windowMs: 1, paceMs: 0, reserved, prefixLength: 28 },
    subnets: async () => ids,
    mode: () => mode,
  });
  const out = await m.sample();
  const failed = ids.filter((id) => !out.some((r) => r.subnetId === id));
  if (failed.length) throw new Error(`could not read ${failed.join(', ')} (${[...m.errorsByCode.keys()].join(', ')})`);
  return out;
}

export const subnetsCommand: CtlCommand = {
  name: 'subnets',
  summary: 'subnet headroom table: free addresses, free /28s, fragmentation (--from HOST:PORT: a running ipamd)',
  usage: USAGE,
  async run(argv, settings) {
    const { flags, rest } = parseFlags(argv, {
      provider: 'string',
      json: 'boolean',
      mode: 'string',
      subnet: 'multi',
      'vpc-id': 'string',
      tag: 'multi',
      reserved: 'string',
      'state-dir': 'string',
      seed: 'string',
      'subnet-cidr': 'string',
      'instance-type': 'string',
      nodes: 'string',
      occupy: 'string',
      endpoint: 'string',
      from: 'string',
    });
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const modeFlag = (flags.mode as string | undefined) ?? 'ips';
    if (modeFlag !== 'ips' && modeFlag !== 'prefix')
      throw new UsageError(`--mode must be ips or prefix, got "${modeFlag}"`);
    const mode = modeFlag === 'prefix' ? 'prefix' : 'ip';
    const provider = (flags.provider as string | undefined) ?? 'sim';
    if (provider !== 'sim' && provider !== 'aws')
      throw new UsageError(`--provider must be sim or aws, got "${provider}"`);
    const reserved = readReserved(
      flags.reserved === undefined ? {} : { VPC_IPAM_MONITOR_RESERVED: flags.reserved as string },
      provider,
    );
    let filter = filterOf(flags);

    let reports: SubnetReport[];
    if (typeof flags.from === 'string') {
      reports = await fromEndpoint(flags.from);
    } else if (provider === 'sim') {
      let reader: SubnetReader;
      if (flags.seed !== undefined) {
        const { cloud, instanceId } = demoCloud(flags, mode);
        reader = new SimProvider({ cloud, instanceId, clock: new SystemClock(), latency: ZERO_LATENCY });
      } else {
        const dir = (flags['state-dir'] as string | undefined) ?? settings.stateDir;
        if (!dir) {
          throw new UsageError(
            'give --from 127.0.0.1:61679 to read a running ipamd (its introspection), --state-dir DIR for a sim ' +
              "daemon's VPC_IPAM_STATE_DIR, or --seed N for a demo cloud",
          );
        }
        reader = new SimFileReader(path.join(dir, 'sim-cloud.json'));
      }
      const ids = filter?.ids ?? (await reader.listSubnets(filter)).map((s) => s.id);
      reports = await readOnce(reader, ids, mode, reserved);
    } else {
      const endpoint = typeof flags.endpoint === 'string' ? flags.endpoint : undefined;
      const built = await createProvider(settings.awsDaemonConfig(endpoint), new SystemClock(), silentLogger());
      try {
        filter ??= { vpcId: (await built.provider.describeNode()).vpcId };
        const ids = filter.ids ?? (await built.provider.listSubnets(filter)).map((s) => s.id);
        reports = await readOnce(built.provider, ids, mode, reserved);
      } finally {
        await built.provider.close?.();
        await built.close?.();
      }
    }
    if (flags.json) process.stdout.write(JSON.stringify({ subnets: reports }, null, 2) + '\n');
    else process.stdout.write(formatSubnetTable(reports) + '\n');
    return 0;
  },
};
