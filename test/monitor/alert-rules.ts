/**
 * What the alert-rule tests share: the PrometheusRule of deploy/prometheus as parsed YAML, the metric names the
 * code registers and a PromQL expression reads, and the runbook (docs/alerts.md) cut into its sections.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';

export const REPO = path.resolve(new URL('../..', import.meta.url).pathname);

export const RULES = path.join(REPO, 'deploy/prometheus/vpc-ipam-rules.yaml');

export const RUNBOOK = 'docs/alerts.md';

/** Where runbook_url points: the runbook on the project's GitHub (image ghcr.io/vpc-ipam/vpc-ipam). */
export const RUNBOOK_BASE = `https://github.com/vpc-ipam/vpc-ipam/blob/main/${RUNBOOK}`;

/** Metrics the rules may use that vpc-ipam does not export: Prometheus' own and kube-state-metrics'. */
export const EXTERNAL_METRICS = new Set(['up', 'kube_daemonset_status_number_unavailable']);

export interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: { groups: Array<{ name: string; rules: Rule[] }> };
}

export const doc = YAML.parse(readFileSync(RULES, 'utf8')) as RuleDoc;

export const rules = doc.spec.groups.flatMap((g) => g.rules);

export const rule = (alert: string): Rule => rules.find((r) => r.alert === alert)!;

/** Metric names the code registers (`name: 'vpc_ipam_…'`, or a `…_METRIC = 'vpc_ipam_…'` constant). */
export function exportedMetrics(): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string) => {
    for (const f of readdirSync(path.join(REPO, dir), { withFileTypes: true })) {
      if (f.isDirectory()) walk(path.join(dir, f.name));
      else if (f.name.endsWith('.ts')) {
        const src = readFileSync(path.join(REPO, dir, f.name), 'utf8');
        for (const m of src.matchAll(/(?:name:|_METRIC =) '(vpc_ipam_[a-z_]+)'/g)) out.add(m[1]!);
      }
    }
  };
  walk('ipamd');
  return out;
}

/** Metric names a PromQL expression reads (ours, kube-state-metrics', and `up`). */
export function metricsIn(expr: string): string[] {
  const names = [...expr.matchAll(/\b(vpc_ipam_[a-z_]+|kube_[a-z_]+)\b/g)].map((m) => m[1]!);
  if (/\bup\s*\{/.test(expr)) names.push('up');
  return names;
}

/** GitHub's anchor for a Markdown heading. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Headings outside code fences, with their anchors and the text up to the next heading of the same level. */
export function sections(markdown: string): Array<{ level: number; title: string; anchor: string; body: string }> {
  const out: Array<{ level: number; title: string; anchor: string; body: string }> = [];
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const h = !fenced && /^(#{1,6}) (.+)$/.exec(line);
    if (h) {
      const base = slug(h[2]!);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      out.push({ level: h[1]!.length, title: h[2]!, anchor: n ? `${base}-${n}` : base, body: '' });
    } else if (out.length) out[out.length - 1]!.body += `${line}\n`;
  }
  return out;
}

export const runbook = readFileSync(path.join(REPO, RUNBOOK), 'utf8');
