/**
 * `vpc-ipamctl plan` and `vpc-ipamctl subnets`, run in-process with stdout
 * captured: sizing numbers worked by hand, the seeded placement, every
 * source of the subnet table (demo sim, a sim state dir, the AWS provider
 * against the EC2 emulator), and clear errors for bad input.
 */
import { parseCtlSettings } from '../../ipamd/config/ctl.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../ipamd/ctl/command.js';
import { planCommand, type PlanOutput } from '../../ipamd/ctl/commands/plan.js';
import { subnetsCommand } from '../../ipamd/ctl/commands/subnets.js';
import type { SubnetReport } from '../../ipamd/monitor/report.js';
import { startEmulatedNode } from '../../providers/aws/emulator/node.js';
import { SimCloud } from '../../providers/sim/cloud.js';
import { saveSimCloud } from '../../providers/sim/persist.js';

afterEach(() => vi.restoreAllMocks());

async function capture(run: () => Promise<number>): Promise<{ code: number; out: string }> {
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const code = await run();
  vi.restoreAllMocks();
  return { code, out };
}

async function plan(args: string[]): Promise<PlanOutput> {
  const r = await capture(() => planCommand.run([...args, '--json'], parseCtlSettings({})));
  expect(r.code).toBe(0);
  return JSON.parse(r.out) as PlanOutput;
}

async function subnets(args: string[], env: NodeJS.ProcessEnv = {}): Promise<SubnetReport[]> {
  const r = await capture(() => subnetsCommand.run([...args, '--json'], parseCtlSettings(env)));
  expect(r.code).toBe(0);
  return (JSON.parse(r.out) as { subnets: SubnetReport[] }).subnets;
}

describe('vpc-ipamctl plan', () => {
  it('secondary IPs: m5.large in a /24 fits 8 full nodes; 100 nodes need a /20', async () => {
    const o = await plan(['--subnet', '10.0.0.0/24', '--instance-type', 'm5.large', '--mode', 'ips', '--nodes', '100']);
    expect([o.maxPods, o.podsPerNode]).toEqual([29, 27]);
    // Warm-pool overhead of an empty node: a full interface (9) plus its primary.
    expect(o.plan.empty).toMatchObject({ warm: 9, subnetAddresses: 10 });
    expect(o.plan.full).toMatchObject({ pods: 27, interfaces: 3, subnetAddresses: 30 });
    expect(o.plan.fit.exact).toEqual({ nodes: 8, pods: 216 }); // 8 × 30 = 240 ≤ 251 < 9 × 30
    expect(o.plan.need).toEqual({ nodes: 100, exact: 20 }); // 3000 > 2043 (/21), ≤ 4091 (/20)
    expect(o.placement).toBeUndefined();
  });

  it('warm settings change the overhead: WARM_IP_TARGET=2 at 10 Pods per node', async () => {
    const o = await plan([
      '--subnet',
      '10.0.0.0/24',
      '--instance-type',
      'm5.large',
      '--mode',
      'ips',
      '--pods-per-node',
      '10',
      '--env',
      'WARM_IP_TARGET=2',
    ]);
    expect(o.plan.full).toMatchObject({ pods: 10, addresses: 12, warm: 2, interfaces: 2, subnetAddresses: 14 });
    expect(o.plan.fit.exact).toEqual({ nodes: 17, pods: 170 }); // 17 × 14 = 238 ≤ 251
    expect(o.settings).toContain('WARM_IP_TARGET=2');
  });

  it(
    'prefixes: best and worst case bracket the seeded random placement, which ends on ' + 'InsufficientCidrBlocks',
    async () => {
      const o = await plan([
        '--subnet',
        '10.0.0.0/20',
        '--instance-type',
        'm5.large',
        '--mode',
        'prefix',
        '--nodes',
        '100',
        '--seed',
        '4',
      ]);
      // 108 Pods → 8 prefixes on the primary interface (7 would hold 112 but leave 4 < 16 warm).
      expect(o.plan.full).toMatchObject({ pods: 108, blocks: 8, interfaces: 1, subnetInterfaces: 1 });
      expect(o.plan.subnet).toEqual({ cidr: '10.0.0.0/20', total: 4091, prefixBlocks: 254, edgeFree: 27 });
      // Worst: 254 / (8 + 1) = 28. Best: 31 × 8 + ⌈(31 − 27)/16⌉ = 249 ≤ 254, 32 × 8 = 256 > 254.
      expect(o.plan.fit.worst).toEqual({ nodes: 28, pods: 28 * 108 });
      expect(o.plan.fit.best).toEqual({ nodes: 31, pods: 31 * 108 });
      const sim = o.placement!;
      expect(sim.nodes).toBeGreaterThanOrEqual(28);
      expect(sim.nodes).toBeLessThanOrEqual(31);
      expect(sim.stoppedBy?.cloudCode).toBe('InsufficientCidrBlocks');
      expect(sim.end.freePrefixBlocks).toBeLessThan(8);
      expect(sim.end.free).toBeGreaterThan(sim.end.freePrefixBlocks * 16); // stranded addresses
      // 100 nodes: best needs 800 + 5 blocks → /18 (1022 blocks); worst 900 blocks → /18 too.
      expect(o.plan.need).toEqual({ nodes: 100, best: 18, worst: 18 });
    },
  );

  it('custom networking: the primary hosts no Pods and costs the Pod subnet nothing', async () => {
    const o = await plan([
      '--subnet',
      '10.0.0.0/24',
      '--instance-type',
      'm5.large',
      '--mode',
      'ips',
      '--env',
      'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true',
    ]);
    expect(o.maxPods).toBe(20);
    expect(o.plan.full).toMatchObject({ pods: 18, interfaces: 3, subnetInterfaces: 2, subnetAddresses: 20 });
    expect(o.plan.fit.exact!.nodes).toBe(12);
  });

  it('prints a readable plan', async () => {
    const r = await capture(() =>
      planCommand.run(
        ['--subnet', '10.0.0.0/24', '--instance-type', 'm5.large', '--mode', 'ips', '--nodes', '10'],
        parseCtlSettings({}),
      ),
    );
    expect(r.out).toContain('Fits 8 nodes = 216 Pods (30 addresses per node at 27 Pods)');
    expect(r.out).toContain('For 10 nodes: a /23 (512 addresses)');
  });

  it('rejects bad input with an error naming it', async () => {
    const base = ['--instance-type', 'm5.large', '--mode', 'ips'];
    await expect(planCommand.run(['--subnet', '10.0.0.5/24', ...base], parseCtlSettings({}))).rejects.toThrow(
      /--subnet: .*host bits/,
    );
    await expect(
      planCommand.run(['--subnet', '10.0.0.0/24', '--instance-type', 'm9.huge', '--mode', 'ips'], parseCtlSettings({})),
    ).rejects.toThrow(/m9\.huge is not in the EC2 limits table/);
    await expect(
      planCommand.run(['--subnet', '10.0.0.0/24', ...base, '--env', 'WARM_IP_TARGET=lots'], parseCtlSettings({})),
    ).rejects.toThrow(/WARM_IP_TARGET: expected a whole number/);
    await expect(
      planCommand.run(
        ['--subnet', '10.0.0.0/24', '--instance-type', 'm5.large', '--mode', 'both'],
        parseCtlSettings({}),
      ),
    ).rejects.toThrow(UsageError);
    await expect(
      planCommand.run(
        ['--subnet', '10.0.0.0/24', '--instance-type', 't2.medium', '--mode', 'prefix'],
        parseCtlSettings({}),
      ),
    ).rejects.toThrow(/Nitro/);
    await expect(planCommand.run(['--instance-type', 'm5.large'], parseCtlSettings({}))).rejects.toThrow(
      /--subnet CIDR is required/,
    );
  });
});

describe('vpc-ipamctl subnets', () => {
  it('demo sim cloud: three nodes with their warm pools, plus others fragmenting the subnet', async () => {
    const [r] = await subnets(['--seed', '7', '--nodes', '3']);
    // Each node: its primary + 9 warm IPs (WARM_ENI_TARGET=1 on m5.large).
    expect(r).toMatchObject({ cidr: '10.0.0.0/24', total: 251, used: 30, free: 221 });
    const [f] = await subnets(['--seed', '7', '--nodes', '3', '--occupy', '40', '--mode', 'prefix']);
    expect(f).toMatchObject({ used: 3 * 17 + 40, mode: 'prefix' });
    expect(f!.freePrefixBlocks!).toBeLessThan(14 - 3);
  });

  it("reads a sim daemon's state dir and prints the table", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ctl-subnets-'));
    const cloud = new SimCloud({ seed: 2 });
    cloud.seedNode({ instanceType: 'm5.large', subnetCidr: '10.0.1.0/24', podSubnetCidr: '10.0.2.0/24' });
    saveSimCloud(cloud, path.join(dir, 'sim-cloud.json'));
    const rows = await subnets([], { VPC_IPAM_STATE_DIR: dir });
    expect(rows.map((r) => [r.cidr, r.free])).toEqual(
      cloud
        .describeSubnets()
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .map((s) => [s.cidr, s.availableAddresses]),
    );
    const t = await capture(() => subnetsCommand.run(['--state-dir', dir], parseCtlSettings({})));
    expect(t.out.split('\n')[0]).toMatch(
      /^SUBNET +ZONE +CIDR +TOTAL +USED +FREE +FREE\/28 +LARGEST +FRAG +HELD +ASSIGNED +RATE\/H +ETA +HEADROOM$/,
    );
    expect(t.out).toMatch(/10\.0\.2\.0\/24 +251 +0 +251 +14 +\/26 +11% +0 +0 +- +- +251/);
  });

  it('asks the AWS provider (real SDK) against the EC2 emulator with --endpoint', async () => {
    const emu = await startEmulatedNode({ instanceType: 'm5.large', subnetCidr: '10.0.0.0/24', cloudSeed: 3 });
    try {
      // Other tenants' interfaces (what EC2's DescribeNetworkInterfaces shows) scatter over the Pod subnet.
      const pod = emu.cloud.describeSubnets().find((s) => s.cidr === '10.0.1.0/24')!.id;
      for (let k = 0; k < 6; k++) emu.cloud.createInterface({ subnetId: pod, secondaryIps: { count: 4 } });
      // The command fills in emulator credentials in the environment it is given (the process's, from main).
      const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
      let rows: SubnetReport[];
      try {
        rows = await subnets(['--provider', 'aws', '--endpoint', emu.endpoint], process.env);
      } finally {
        if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
        if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      }
      const truth = emu.cloud.describeSubnets();
      expect(rows).toHaveLength(truth.length);
      for (const s of truth) {
        const r = rows.find((x) => x.subnetId === s.id)!;
        expect([r.cidr, r.free, r.freePrefixBlocks]).toEqual([
          s.cidr,
          s.availableAddresses,
          emu.cloud.freePrefixBlocks(s.id),
        ]);
      }
    } finally {
      await emu.close();
    }
  });

  it('rejects bad input with an error naming it', async () => {
    await expect(subnetsCommand.run([], parseCtlSettings({}))).rejects.toThrow(/--state-dir DIR .* or --seed N/);
    await expect(subnetsCommand.run(['--provider', 'gcp'], parseCtlSettings({}))).rejects.toThrow(
      /--provider must be sim or aws/,
    );
    await expect(subnetsCommand.run(['--seed', '1', '--reserved', 'four'], parseCtlSettings({}))).rejects.toThrow(
      /VPC_IPAM_MONITOR_RESERVED: expected FIRST,LAST/,
    );
    await expect(subnetsCommand.run(['--state-dir', '/nonexistent-dir'], parseCtlSettings({}))).rejects.toThrow(
      /no sim cloud at \/nonexistent-dir\/sim-cloud\.json/,
    );
  });
});
