/**
 * The PrometheusRule in deploy/prometheus is valid and its alerts fire (and
 * stay quiet) as intended, checked with the real promtool: `check rules` on
 * the extracted `spec`, `test rules` on promtool/vpc-ipam-rules.test.yaml.
 * Offline checks keep the rules honest against the code and the manifests:
 * only metrics the code exports (or kube-state-metrics' and Prometheus' own),
 * the job/node labels the ServiceMonitor produces, throttling codes as the
 * providers map them (the runbooks are checked in runbooks.test.ts).
 * Skips the promtool runs with a printed reason only when promtool is not
 * installed (`apt-get install -y prometheus`; listed in .ci/packages.txt).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { mapEc2Error } from '../../providers/aws/errors.js';
import { mapAzureError } from '../../providers/azure/errors.js';
import { mapGcpError, operationError } from '../../providers/gcp/errors.js';
import type { CloudError } from '../../providers/errors.js';
import { doc, exportedMetrics, EXTERNAL_METRICS, metricsIn, REPO, rule, rules } from './alert-rules.js';

const TESTS = path.join(REPO, 'test/monitor/promtool/vpc-ipam-rules.test.yaml');

function findPromtool(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat('/usr/bin')) {
    const p = path.join(dir, 'promtool');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

const promtool = findPromtool();

if (!promtool) {
  process.stdout.write('SKIP promtool tests: promtool not found on PATH (apt-get install -y prometheus)\n');
}

function run(args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(promtool!, args, { cwd }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

interface UnitTests {
  tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
}

/**
 * The rules file and a copy of the unit tests in a fresh directory, as promtool wants them side by side;
 * with `only`, just the test groups that check that alert (promtool runs faster on fewer).
 */
function workdir(spec: unknown = doc.spec, only?: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vpc-ipam-rules-'));
  writeFileSync(path.join(dir, 'rules.yaml'), YAML.stringify(spec));
  if (only === undefined) copyFileSync(TESTS, path.join(dir, 'tests.yaml'));
  else {
    const t = YAML.parse(readFileSync(TESTS, 'utf8')) as UnitTests;
    t.tests = t.tests.filter((g) => g.alert_rule_test.some((c) => c.alertname === only));
    writeFileSync(path.join(dir, 'tests.yaml'), YAML.stringify(t));
  }
  return dir;
}

describe('PrometheusRule deploy/prometheus/vpc-ipam-rules.yaml', () => {
  it('is a PrometheusRule whose alerts use only metrics we (or Prometheus, kube-state-metrics) export', () => {
    expect([doc.apiVersion, doc.kind, doc.metadata.name]).toEqual([
      'monitoring.coreos.com/v1',
      'PrometheusRule',
      'vpc-ipam',
    ]);
    expect(rules.map((r) => r.alert).sort()).toEqual(
      [
        'VpcIpamCloudThrottled',
        'VpcIpamDaemonSetUnavailable',
        'VpcIpamMonitorNoLeader',
        'VpcIpamNodeDown',
        'VpcIpamNodeMetricsAbsent',
        'VpcIpamOrphanedAssignments',
        'VpcIpamPoolGrowthBlocked',
        'VpcIpamSubnetExhausted',
        'VpcIpamSubnetFastConsumption',
        'VpcIpamSubnetLowHeadroom',
        'VpcIpamSubnetMonitorStale',
        'VpcIpamSubnetNoPrefixBlock',
      ].sort(),
    );
    const exported = exportedMetrics();
    expect(exported.has('vpc_ipam_monitor_leader') && exported.has('vpc_ipam_orphaned_assignments')).toBe(true);
    for (const r of rules) {
      const names = metricsIn(r.expr);
      expect(names.length, r.alert).toBeGreaterThan(0);
      for (const n of names) expect(exported.has(n) || EXTERNAL_METRICS.has(n), `${r.alert} uses ${n}`).toBe(true);
      expect(r.labels?.severity, r.alert).toMatch(/^(warning|critical)$/);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
    }
  });

  it('node alerts name the node (the ServiceMonitor relabels it), never the instance IP:port', () => {
    for (const r of rules) expect(r.expr, r.alert).not.toMatch(/\bby\s*\([^)]*\binstance\b/);
    for (const a of ['VpcIpamNodeDown', 'VpcIpamPoolGrowthBlocked', 'VpcIpamOrphanedAssignments']) {
      expect(rule(a).expr, a).toMatch(/\bmax by \(node\)/);
      expect(rule(a).annotations!.summary, a).toContain('{{ $labels.node }}');
    }
  });

  it('the job, DaemonSet and node labels the rules select on are the ones the base manifests produce', () => {
    const base = path.join(REPO, 'deploy/kustomize/base');
    type Obj = { kind: string; metadata: { name: string }; spec: Record<string, unknown> };
    const load = (f: string) =>
      YAML.parseAllDocuments(readFileSync(path.join(base, f), 'utf8')).map((d) => d.toJS() as Obj);
    // The Prometheus Operator sets `job` to the Service's name unless the ServiceMonitor sets jobLabel.
    const services = load('service.yaml').filter((o) => o.kind === 'Service');
    const svc = (component: string) =>
      services.find((s) => (s.spec.selector as Record<string, string>)['app.kubernetes.io/component'] === component)!;
    type Sm = Obj & { spec: { jobLabel?: string; endpoints: Array<{ relabelings?: unknown[] }> } };
    const [sm] = load('servicemonitor.yaml') as Sm[];
    expect(sm!.spec.jobLabel).toBeUndefined();
    for (const e of sm!.spec.endpoints) {
      expect(e.relabelings).toContainEqual({ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' });
    }
    const jobs = new Set(rules.flatMap((r) => [...r.expr.matchAll(/\bjob="([^"]+)"/g)].map((m) => m[1]!)));
    expect([...jobs]).toEqual([svc('node').metadata.name]);
    expect(svc('node').metadata.name).toBe('vpc-ipam-node-metrics');
    expect(svc('monitor').metadata.name).toBe('vpc-ipam-monitor-metrics');
    const [ds] = load('daemonset.yaml');
    const dsNames = new Set(rules.flatMap((r) => [...r.expr.matchAll(/\bdaemonset="([^"]+)"/g)].map((m) => m[1]!)));
    expect([...dsNames]).toEqual([ds!.metadata.name]);
  });

  it('alerts that would go silent when their series disappear also fire on absence', () => {
    expect(rule('VpcIpamSubnetMonitorStale').expr).toContain(
      'or absent_over_time(vpc_ipam_subnet_last_sample_timestamp_seconds[15m])',
    );
    expect(rule('VpcIpamMonitorNoLeader').expr).toMatch(/\bor absent\(vpc_ipam_monitor_leader\)/);
    expect(rule('VpcIpamNodeMetricsAbsent').expr).toBe('absent(up{job="vpc-ipam-node-metrics"})');
  });

  it('counts as throttled exactly the cloud codes the providers map to CLOUD_THROTTLED', () => {
    const res = [...rule('VpcIpamCloudThrottled').expr.matchAll(/result=~"([^"]+)"/g)].map((m) => {
      const re = m[1]!;
      const ci = re.startsWith('(?i)');
      // Prometheus anchors a label regex at both ends; RE2's leading (?i) is JS's `i` flag.
      return new RegExp(`^(?:${ci ? re.slice(4) : re})$`, ci ? 'i' : '');
    });
    expect(res.length).toBeGreaterThan(1);
    const counted = (code: string) => res.some((re) => re.test(code));
    const mapped: CloudError[] = [];

    // AWS: every name in the error mapping's sets (throttling, unauthorised, conflict, unavailable), and others.
    const awsSrc = readFileSync(path.join(REPO, 'providers/aws/errors.ts'), 'utf8');
    const awsNames = [...awsSrc.matchAll(/new Set\(\[([\s\S]*?)\]\)/g)].flatMap((m) =>
      [...m[1]!.matchAll(/'([^']+)'/g)].map((n) => n[1]!),
    );
    expect(awsNames).toContain('RequestLimitExceeded');
    const awsOthers = [
      'InsufficientFreeAddressesInSubnet',
      'InsufficientCidrBlocks',
      'AttachmentLimitExceeded',
      'PrivateIpAddressLimitExceeded',
      'InvalidParameterValue',
      'InvalidNetworkInterfaceID.NotFound',
    ];
    for (const name of [...awsNames, ...awsOthers]) mapped.push(mapEc2Error({ name, message: name }, 'op'));

    // Azure: every code of the mapping table, and status-only answers.
    const azSrc = readFileSync(path.join(REPO, 'providers/azure/errors.ts'), 'utf8');
    const table = /const BY_CODE[^=]*= \{([\s\S]*?)\n\};/.exec(azSrc)![1]!;
    const azCodes = [...table.matchAll(/^\s*(\w+): \w+,/gm)].map((m) => m[1]!);
    expect(azCodes).toContain('TooManyRequests');
    const rest = (e: { code?: string; statusCode: number }) =>
      mapAzureError({ name: 'RestError', message: 'x', ...e }, 'op');
    for (const code of azCodes) mapped.push(rest({ code, statusCode: 400 }));
    for (const statusCode of [429, 403, 409, 500]) mapped.push(rest({ statusCode }));
    mapped.push(rest({ code: 'SubscriptionRequestsThrottled', statusCode: 429 }));

    // GCP: HTTP answers by status and reason, and failed zone operations.
    const gcp: Array<[number, string]> = [
      [429, ''],
      [429, 'rateLimitExceeded'],
      [403, 'rateLimitExceeded'],
      [403, 'userRateLimitExceeded'],
      [429, 'RATE_LIMIT_EXCEEDED'],
      [429, 'RESOURCE_EXHAUSTED'],
      [400, 'IP_SPACE_EXHAUSTED'],
      [403, 'forbidden'],
      [409, 'resourceNotReady'],
      [412, 'conditionNotMet'],
      [404, 'notFound'],
      [503, 'backendError'],
    ];
    for (const [status, reason] of gcp) mapped.push(mapGcpError({ status, reason, message: reason }, 'op'));
    for (const code of ['RATE_LIMIT_EXCEEDED', 'QUOTA_EXCEEDED', 'IP_SPACE_EXHAUSTED', 'RESOURCE_NOT_FOUND']) {
      mapped.push(operationError({ name: 'op-1', error: { errors: [{ code, message: code }] } }, 'op')!);
    }

    // GCP answers rate limits with 403 too (`rateLimitExceeded`, `userRateLimitExceeded`): both are throttling.
    const strict = mapped;
    expect(mapped.find((x) => x.cloudCode === 'userRateLimitExceeded')?.code).toBe('CLOUD_THROTTLED');

    const throttled = strict.filter((e) => e.code === 'CLOUD_THROTTLED');
    expect(throttled.length).toBeGreaterThan(15);
    expect(strict.length - throttled.length).toBeGreaterThan(30);
    for (const e of strict) {
      expect(counted(e.cloudCode), `${e.provider} ${e.cloudCode} (${e.code})`).toBe(e.code === 'CLOUD_THROTTLED');
    }
    expect(counted('ok')).toBe(false);
  });

  it('has unit tests that make every alert fire and every alert stay quiet', () => {
    const t = YAML.parse(readFileSync(TESTS, 'utf8')) as UnitTests;
    const cases = t.tests.flatMap((x) => x.alert_rule_test);
    for (const r of rules) {
      const mine = cases.filter((c) => c.alertname === r.alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${r.alert} fires somewhere`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${r.alert} is quiet somewhere`,
      ).toBe(true);
    }
  });

  it.skipIf(!promtool)('passes promtool check rules', async () => {
    const dir = workdir();
    const r = await run(['check', 'rules', 'rules.yaml'], dir);
    expect(r.out).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(r.code).toBe(0);
  });

  it.skipIf(!promtool)('fires and stays quiet as the promtool unit tests expect', async () => {
    const r = await run(['test', 'rules', 'tests.yaml'], workdir());
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  // Each broken variant is a fix of this change undone: the unit tests must notice every one.
  it.skipIf(!promtool).each([
    ['VpcIpamSubnetFastConsumption', '6 * 3600', '5 * 3600'],
    ['VpcIpamPoolGrowthBlocked', 'max by (node)', 'max by (instance)'],
    ['VpcIpamSubnetMonitorStale', 'or absent_over_time', 'and absent_over_time'],
    ['VpcIpamMonitorNoLeader', 'or absent', 'and absent'],
    ['VpcIpamNodeDown', 'max by (node)', 'min by (node)'],
    ['VpcIpamNodeDown', 'job="vpc-ipam-node-metrics"', 'job=~".+"'],
    ['VpcIpamDaemonSetUnavailable', '{daemonset="vpc-ipam-node"}', ''],
    ['VpcIpamOrphanedAssignments', '> 0', '>= 0'],
    ['VpcIpamCloudThrottled', ') >= 10', ') >= 0'],
    ['VpcIpamCloudThrottled', '(?i)', ''],
    ['VpcIpamCloudThrottled', 'vpc_ipam_cloud_calls_total[10m]', 'vpc_ipam_cloud_calls_total{result="ok"}[10m]'],
  ])('the promtool tests catch %s broken (%s → %s)', async (alert, from, to) => {
    const broken = structuredClone(doc.spec);
    const r0 = broken.groups.flatMap((g) => g.rules).find((r) => r.alert === alert)!;
    expect(r0.expr).toContain(from);
    r0.expr = r0.expr.replace(from, to);
    const r = await run(['test', 'rules', 'tests.yaml'], workdir(broken, alert));
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(new RegExp(`FAILED[\\s\\S]*${alert}`));
  });

  it.skipIf(!promtool)('promtool rejects a rule with a syntax error (the check is real)', async () => {
    const broken = structuredClone(doc.spec);
    broken.groups[0]!.rules[0]!.expr = 'min by (subnet_id (vpc_ipam_subnet_headroom_pods)';
    const r = await run(['check', 'rules', 'rules.yaml'], workdir(broken));
    expect(r.code).not.toBe(0);
  });
});
