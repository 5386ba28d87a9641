/**
 * Process level, on the sim cloud: a running vpc-ipamd serves the subnet
 * gauges (with subnet_id, zone and cidr) on /metrics and the table on
 * /v1/subnets, counting its own pool as held vs assigned; `vpc-ipamd
 * monitor` serves the same gauges for the whole cloud from the sim file;
 * `vpc-ipamctl subnets --from` prints the daemon's table.
 */
import { spawn, execFile } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../cni/contract/protocol.js';
import { callIpamd } from '../../cni/contract/socket-client.js';
import { SUBNET_GAUGES } from '../../ipamd/monitor/metrics.js';
import type { SubnetReport } from '../../ipamd/monitor/report.js';
import { loadSimCloud } from '../../providers/sim/persist.js';
import { DAEMON_JS, REPO, freePort, getJson, kill, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';
import { eventually } from '../helpers/eventually.js';

const started: DaemonHandle[] = [];
afterAll(async () => {
  for (const h of started) await kill(h, 'SIGTERM');
});

/** Polls `probe` until it gives a value (the deadline only guards a hung process). */
const until = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> =>
  eventually(what, probe, { timeoutMs: ms, everyMs: 100 });

function gaugeLine(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1).replace('+Inf', 'Infinity'));
}

describe('subnet monitor in a running daemon', () => {
  it(
    'serves the gauges on /metrics and the table on /v1/subnets, with held vs assigned from the ' + 'datastore',
    async () => {
      const h = await startDaemon({
        VPC_IPAM_MONITOR_INTERVAL_SECONDS: '1',
        VPC_IPAM_MONITOR_WINDOW_SECONDS: '60',
        VPC_IPAM_MONITOR_PACE_MS: '0',
      });
      started.push(h);
      // The pool fills to one warm interface (9 IPs on m5.large) and the monitor sees it.
      const first = await until('a subnet report with the warm pool', async () => {
        const b = await getJson<{ enabled: boolean; subnets: SubnetReport[] }>(h, '/v1/subnets');
        const r = b.subnets[0];
        return b.enabled && r && r.held === 9 && r.consumptionPerSecond !== undefined ? r : undefined;
      });
      const cloud = loadSimCloud(path.join(h.dir, 'state', 'sim-cloud.json'))!;
      const subnet = cloud.describeSubnets()[0]!;
      expect(first).toMatchObject({
        subnetId: subnet.id,
        cidr: '10.0.0.0/24',
        zone: subnet.zone,
        total: 251,
        free: subnet.availableAddresses,
        assigned: 0,
        nodes: 1,
        mode: 'ip',
      });
      expect(first.freePrefixBlocks).toBe(cloud.freePrefixBlocks(subnet.id));

      const res = await callIpamd(h.socket, {
        v: PROTOCOL_VERSION,
        op: 'add',
        network: 'vpc-ipam',
        containerId: 'mon-1',
        ifName: 'eth0',
      });
      expect(res.ok).toBe(true);
      await until('the ADD counted as assigned', async () => {
        const b = await getJson<{ subnets: SubnetReport[] }>(h, '/v1/subnets');
        return b.subnets[0]?.assigned === 1 ? true : undefined;
      });

      const text = await (await fetch(`http://${h.metrics}/metrics`)).text();
      const labels = `{subnet_id="${subnet.id}",zone="${subnet.zone}",cidr="10.0.0.0/24"}`;
      for (const g of SUBNET_GAUGES) {
        expect(text, g.name).toContain(`# TYPE ${g.name} gauge`);
        expect(gaugeLine(text, g.name, labels), `${g.name}${labels}`).toBeTypeOf('number');
      }
      expect(gaugeLine(text, 'vpc_ipam_subnet_total_addresses', labels)).toBe(251);
      expect(gaugeLine(text, 'vpc_ipam_subnet_assigned_addresses', labels)).toBe(1);
      expect(gaugeLine(text, 'vpc_ipam_subnet_prefix_delegation', labels)).toBe(0);
      expect(text).toMatch(/vpc_ipam_cloud_calls_total\{operation="describeSubnetAllocations",result="ok"\} \d+/);
      // headroom = free + held − warm target (9 for WARM_ENI_TARGET=1 on m5.large).
      const free = gaugeLine(text, 'vpc_ipam_subnet_free_addresses', labels)!;
      const held = gaugeLine(text, 'vpc_ipam_subnet_held_addresses', labels)!;
      expect(gaugeLine(text, 'vpc_ipam_subnet_headroom_pods', labels)).toBe(free + held - 9);
    },
  );

  it("vpc-ipamd monitor serves the whole sim cloud from the daemon's file, as leader", async () => {
    const h = started[0]!;
    const port = await freePort();
    const env = {
      ...h.env,
      VPC_IPAM_MONITOR_INTERVAL_SECONDS: '1',
      VPC_IPAM_MONITOR_METRICS_ADDRESS: `127.0.0.1:${port}`,
      VPC_IPAM_MONITOR_INSTANCE_TYPE: 'm5.large',
      VPC_IPAM_LOG_FILE: path.join(h.dir, 'monitor.log'),
    };
    const proc = spawn(process.execPath, [DAEMON_JS, 'monitor'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (d) => (err += d));
    try {
      const text = await until('monitor metrics', async () => {
        if (proc.exitCode !== null) throw new Error(`monitor exited ${proc.exitCode}: ${err}`);
        const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return /vpc_ipam_subnet_free_addresses\{/.test(t) ? t : undefined;
      });
      expect(text).toContain('vpc_ipam_monitor_leader 1');
      expect(text).toMatch(/vpc_ipam_cloud_calls_total\{operation="describeSubnetAllocations",result="ok"\} \d+/);
      const cloud = loadSimCloud(path.join(h.dir, 'state', 'sim-cloud.json'))!;
      for (const s of cloud.describeSubnets()) {
        const labels = `{subnet_id="${s.id}",zone="${s.zone}",cidr="${s.cidr}"}`;
        expect(gaugeLine(text, 'vpc_ipam_subnet_free_addresses', labels)).toBe(s.availableAddresses);
        // A new m5.large with WARM_ENI_TARGET=1 takes its primary + 9 warm IPs.
        expect(gaugeLine(text, 'vpc_ipam_subnet_headroom_nodes', labels)).toBe(Math.floor(s.availableAddresses / 10));
      }
    } finally {
      const code = await new Promise<number | null>((resolve) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode);
        proc.once('exit', (c) => resolve(c));
        proc.kill('SIGTERM');
      });
      expect(code, err).toBe(0);
    }
  });

  it("vpc-ipamctl subnets --from prints the daemon's table", async () => {
    const h = started[0]!;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [path.join(REPO, 'dist/ipamd/ctl/main.js'), 'subnets', '--from', h.introspection],
        (e, stdout, stderr) => (e ? reject(new Error(stderr)) : resolve(stdout)),
      );
    });
    const [head, row] = out.trim().split('\n');
    expect(head).toMatch(/^SUBNET\s+ZONE\s+CIDR\s+TOTAL\s+USED\s+FREE\s+FREE\/28/);
    expect(row).toMatch(/^subnet-\S+\s+us-east-1a\s+10\.0\.0\.0\/24\s+251\s/);
  });
});
