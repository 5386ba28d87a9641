/**
 * The PrometheusRule in deploy/prometheus is valid and its alerts fire (and
 * stay quiet) as intended, checked with the real promtool: `check rules` on
 * the extracted `spec`, `test rules` on promtool/vpc-ipam-rules.test.yaml.
 * Skips with a printed reason only when promtool is not installed
 * (`apt-get install -y prometheus`; listed in .ci/packages.txt).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { SUBNET_GAUGES } from '../../ipamd/monitor/metrics.js';

const REPO = path.resolve(new URL('../..', import.meta.url).pathname);
const RULES = path.join(REPO, 'deploy/prometheus/vpc-ipam-rules.yaml');
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
if (!promtool) process.stdout.write('SKIP promtool tests: promtool not found on PATH (apt-get install -y prometheus)\n');

function run(args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(promtool!, args, { cwd }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const doc = YAML.parse(readFileSync(RULES, 'utf8')) as { apiVersion: string; kind: string; metadata: { name: string }; spec: { groups: Array<{ name: string; rules: Rule[] }> } };
const rules = doc.spec.groups.flatMap((g) => g.rules);

/** The rules file and a copy of the unit tests in a fresh directory, as promtool wants them side by side. */
function workdir(spec: unknown = doc.spec): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vpc-ipam-rules-'));
  writeFileSync(path.join(dir, 'rules.yaml'), YAML.stringify(spec));
  copyFileSync(TESTS, path.join(dir, 'tests.yaml'));
  return dir;
}

describe('PrometheusRule deploy/prometheus/vpc-ipam-rules.yaml', () => {
  it('is a monitoring.coreos.com/v1 PrometheusRule whose alerts use only metrics we export', () => {
    expect([doc.apiVersion, doc.kind, doc.metadata.name]).toEqual(['monitoring.coreos.com/v1', 'PrometheusRule', 'vpc-ipam']);
    expect(rules.map((r) => r.alert).sort()).toEqual(
      ['VpcIpamPoolGrowthBlocked', 'VpcIpamSubnetExhausted', 'VpcIpamSubnetFastConsumption', 'VpcIpamSubnetLowHeadroom', 'VpcIpamSubnetMonitorStale', 'VpcIpamSubnetNoPrefixBlock'].sort(),
    );
    const exported = new Set([...SUBNET_GAUGES.map((g) => g.name), 'vpc_ipam_pool_growth_blocked']);
    for (const r of rules) {
      const names = r.expr.match(/\bvpc_ipam_[a-z_]+/g) ?? [];
      expect(names.length, r.alert).toBeGreaterThan(0);
      for (const n of names) expect(exported.has(n), `${r.alert} uses ${n}`).toBe(true);
      expect(r.labels?.severity, r.alert).toMatch(/^(warning|critical)$/);
      expect(r.annotations?.runbook_url, r.alert).toMatch(/^docs\/capacity\.md#/);
    }
  });

  it('has unit tests that make every alert fire and every alert stay quiet', () => {
    const t = YAML.parse(readFileSync(TESTS, 'utf8')) as { tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }> };
    const cases = t.tests.flatMap((x) => x.alert_rule_test);
    for (const r of rules) {
      expect(cases.some((c) => c.alertname === r.alert && c.exp_alerts.length > 0), `${r.alert} fires somewhere`).toBe(true);
      expect(cases.some((c) => c.alertname === r.alert && c.exp_alerts.length === 0), `${r.alert} is quiet somewhere`).toBe(true);
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

  it.skipIf(!promtool)('the promtool tests catch a broken threshold (they are not vacuous)', async () => {
    const broken = structuredClone(doc.spec);
    const fast = broken.groups.flatMap((g) => g.rules).find((r) => r.alert === 'VpcIpamSubnetFastConsumption')!;
    fast.expr = fast.expr.replace('6 * 3600', '5 * 3600');
    const r = await run(['test', 'rules', 'tests.yaml'], workdir(broken));
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/FAILED[\s\S]*VpcIpamSubnetFastConsumption/);
  });

  it.skipIf(!promtool)('promtool rejects a rule with a syntax error (the check is real)', async () => {
    const broken = structuredClone(doc.spec);
    broken.groups[0]!.rules[0]!.expr = 'min by (subnet_id (vpc_ipam_subnet_headroom_pods)';
    const r = await run(['check', 'rules', 'rules.yaml'], workdir(broken));
    expect(r.code).not.toBe(0);
  });
});
