/**
 * The built vpc-ipamd as a process, scraped as Prometheus scrapes it: with VPC_IPAM_AWSCNI_METRICS=true on the
 * aws provider (its embedded EC2+IMDS emulator, real SDK), the AWS VPC CNI's families are there after some
 * ADDs and DELs, with its labels and EC2 API names, and `promtool check metrics` finds nothing wrong but the
 * AWS CNI's own names (counters without `_total`, `_ms`), which dashboards need unchanged. With the switch off
 * (the daemon's default) there is no `awscni_` series at all.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../cni/contract/protocol.js';
import { callIpamd } from '../../cni/contract/socket-client.js';
import { kill, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';

const PROMTOOL = '/usr/bin/promtool';
const handles: DaemonHandle[] = [];
afterAll(async () => {
  for (const h of handles) await kill(h, 'SIGKILL');
});

/**
 * promtool's lint of the AWS CNI's own names, which the drop-in keeps on purpose (aws-node dashboards,
 * cni-metrics-helper): every other complaint, and every complaint about a vpc_ipam_ family, fails the test.
 */
const AWS_NAME_LINTS: Record<string, string[]> = {
  awscni_aws_api_latency_ms: ['metric names should not contain abbreviated units'],
};
for (const counter of [
  'awscni_add_ip_req_count',
  'awscni_del_ip_req_count',
  'awscni_ipamd_error_count',
  'awscni_reconcile_count',
  'awscni_aws_api_error_count',
  'awscni_ec2api_req_count',
  'awscni_ec2api_error_count',
]) {
  AWS_NAME_LINTS[counter] = [
    'counter metrics should have "_total" suffix',
    'non-histogram and non-summary metrics should not have "_count" suffix',
  ];
}
for (const counter of ['awscni_force_removed_enis', 'awscni_force_removed_ips', 'awscni_no_available_ip_addresses'])
  AWS_NAME_LINTS[counter] = ['counter metrics should have "_total" suffix'];

function promtoolCheck(text: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = execFile(PROMTOOL, ['check', 'metrics'], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
    p.stdin!.end(text);
  });
}

async function scrape(h: DaemonHandle): Promise<string> {
  return (await fetch(`http://${h.metrics}/metrics`)).text();
}

async function request(h: DaemonHandle, op: 'add' | 'del', containerId: string): Promise<void> {
  const res = await callIpamd(
    h.socket,
    { v: PROTOCOL_VERSION, op, network: 'vpc-ipam', containerId, ifName: 'eth0' },
    20_000,
  );
  if (!res.ok) throw new Error(`${op} ${containerId} failed: ${JSON.stringify(res)}`);
}

function sample(text: string, re: RegExp): string[] {
  return text.split('\n').filter((l) => re.test(l));
}

describe('awscni_* families of a running vpc-ipamd', () => {
  it('are served with the AWS labels after ADDs and DELs, and pass promtool but for the AWS names', async () => {
    accessSync(PROMTOOL, constants.X_OK); // in .ci/packages.txt (Debian `prometheus`): a missing one is a failure
    const h = await startDaemon({
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      VPC_IPAM_PROVIDER: 'aws',
      VPC_IPAM_AWS_EMBEDDED_EMULATOR: 'true',
      VPC_IPAM_AWS_EMULATOR_REALISM: 'scale=0.1',
      VPC_IPAM_AWSCNI_METRICS: 'true',
      WARM_IP_TARGET: '2',
      MINIMUM_IP_TARGET: '4',
    });
    handles.push(h);
    // 12 Pods do not fit the primary ENI's 9 slots (m5.large): a second ENI is created and attached.
    for (let i = 0; i < 12; i++) await request(h, 'add', `c${i}`);
    for (let i = 0; i < 3; i++) await request(h, 'del', `c${i}`);
    const text = await scrape(h);

    expect(sample(text, /^awscni_add_ip_req_count /)).toEqual(['awscni_add_ip_req_count 12']);
    expect(sample(text, /^awscni_del_ip_req_count/)).toEqual(['awscni_del_ip_req_count{reason="PodDeleted"} 3']);
    expect(sample(text, /^awscni_assigned_ip_addresses /)).toEqual(['awscni_assigned_ip_addresses 9']);
    expect(sample(text, /^awscni_eni_allocated /)).toEqual(['awscni_eni_allocated 2']);
    expect(sample(text, /^awscni_eni_max /)).toEqual(['awscni_eni_max 3']);
    expect(sample(text, /^awscni_ip_max /)).toEqual(['awscni_ip_max 27']);
    const total = Number(sample(text, /^awscni_total_ip_addresses /)[0]?.split(' ')[1]);
    expect(total).toBeGreaterThanOrEqual(12);
    // One series per ENI and per /32 block; their sums are the assigned count.
    const sum = (re: RegExp) => sample(text, re).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    expect(sample(text, /^awscni_assigned_ip_per_eni\{eni="eni-[0-9a-f]+"\} \d+$/)).toHaveLength(2);
    expect(sum(/^awscni_assigned_ip_per_eni\{/)).toBe(9);
    // (The warm pool may still be growing: a block can land between two families of one scrape.)
    expect(sample(text, /^awscni_assigned_ip_per_cidr\{cidr="[\d.]+\/32"\} [01]$/).length).toBeGreaterThanOrEqual(12);
    expect(sum(/^awscni_assigned_ip_per_cidr\{/)).toBe(9);
    // EC2's own API names, from the calls that really went to the emulator through the SDK.
    for (const api of ['CreateNetworkInterface', 'AssignPrivateIpAddresses', 'DescribeNetworkInterfaces']) {
      expect(text, api).toMatch(new RegExp(`^awscni_ec2api_req_count\\{fn="${api}"\\} [1-9]`, 'm'));
      expect(text, api).toMatch(
        new RegExp(`^awscni_aws_api_latency_ms_count\\{api="${api}",error="false",status="200"\\} [1-9]`, 'm'),
      );
    }
    expect(text).toMatch(/^awscni_ipamd_node_initialization_duration_seconds_count\{success="true"\} 1$/m);
    expect(text).toMatch(
      /^awscni_ipamd_startup_duration_seconds_count\{success="true",with_api_server="false",failure_reason=""\} 1$/m,
    );
    expect(text).toMatch(/^awscni_ipamd_action_inprogress\{fn="nodeInit"\} 0$/m);
    expect(text).toMatch(/^awscni_build_info\{version="[^"]+",goversion="v[\d.]+"\} 1$/m);
    // Left out on purpose (docs/alerts.md): Pod ENIs are refused, errors are typed, connmark results unreported.
    expect(text).not.toMatch(/awscni_pod_eni_error_count|awscni_aws_utils_error_count|awscni_connmark_reconcile/);

    const { code, out } = await promtoolCheck(text);
    const complaints = out
      .split('\n')
      .filter((l) => l.trim() !== '')
      .filter((l) => {
        const [family, ...rest] = l.split(' ');
        return !(AWS_NAME_LINTS[family!] ?? []).includes(rest.join(' '));
      });
    expect(complaints).toEqual([]);
    // 3 is promtool's "lint problems" exit (the names above); 1 would be an exposition it cannot parse.
    expect([0, 3]).toContain(code);
  });

  it('are absent with the switch off, the daemon default', async () => {
    const h = await startDaemon();
    handles.push(h);
    await request(h, 'add', 'c0');
    await request(h, 'del', 'c0');
    const text = await scrape(h);
    expect(text).toMatch(/^vpc_ipam_pool_addresses\{state="total"\} \d+$/m);
    expect(text).not.toContain('awscni_');
  });
});
