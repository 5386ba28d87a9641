/**
 * Every alert of deploy/prometheus/vpc-ipam-rules.yaml has its runbook section in docs/alerts.md, and what the
 * runbooks name (metrics, introspection routes, other docs) exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  exportedMetrics,
  EXTERNAL_METRICS,
  REPO,
  rules,
  RUNBOOK,
  runbook,
  RUNBOOK_BASE,
  sections,
  slug,
} from './alert-rules.js';

describe(`runbooks (${RUNBOOK})`, () => {
  const all = sections(runbook);
  const alertSections = all.filter((s) => s.level === 2 && /^VpcIpam\w+$/.test(s.title));

  it('every alert links to its own section by an absolute URL, and every section is an alert', () => {
    for (const r of rules) {
      const url = r.annotations?.runbook_url ?? '';
      expect(url, r.alert).toBe(`${RUNBOOK_BASE}#${slug(r.alert)}`);
      const anchor = new URL(url).hash.slice(1);
      expect(
        all.map((s) => s.anchor),
        `${r.alert}: #${anchor} in ${RUNBOOK}`,
      ).toContain(anchor);
    }
    expect(alertSections.map((s) => s.title).sort()).toEqual(rules.map((r) => r.alert).sort());
  });

  it('each section says what the alert means, its likely causes, what to check and what to do', () => {
    for (const s of alertSections) {
      for (const part of ['**Means.**', '**Likely causes.**', '**Check.**', '**Do.**']) {
        expect(s.body, `${s.title} ${part}`).toContain(part);
      }
    }
  });

  it('names only metrics, endpoints and anchors that exist', async () => {
    const exported = exportedMetrics();
    const ksm = new Set([...EXTERNAL_METRICS, 'kube_daemonset_status_desired_number_scheduled']);
    for (const m of runbook.matchAll(/\b(vpc_ipam_[a-z_]+|kube_[a-z_]+)\b/g)) {
      const name = m[1]!.replace(/_(bucket|count|sum)$/, '');
      expect(exported.has(name) || ksm.has(name), name).toBe(true);
    }
    // ipamd's introspection routes and the cluster monitor's.
    const ipamdRoutes = readFileSync(path.join(REPO, 'ipamd/server/introspection-routes.ts'), 'utf8');
    const monitorRoutes = readFileSync(path.join(REPO, 'ipamd/monitor/cluster-run.ts'), 'utf8');
    for (const [port, src] of [
      ['61679', ipamdRoutes],
      ['61680', monitorRoutes],
    ] as const) {
      const paths = [...runbook.matchAll(new RegExp(`127\\.0\\.0\\.1:${port}(/[\\w/-]+)`, 'g'))].map((m) => m[1]!);
      expect(paths.length, port).toBeGreaterThan(0);
      for (const p of paths) expect(src, `${port}${p}`).toContain(`'${p}':`);
    }
    expect(runbook).toContain('127.0.0.1:61678/metrics');
    // Links into this file and into the other docs land on a heading.
    for (const m of runbook.matchAll(/\]\(([\w./-]*?)(?:#([\w-]+))?\)/g)) {
      const file = m[1] ? path.join(REPO, 'docs', m[1]) : path.join(REPO, RUNBOOK);
      expect(existsSync(file), m[0]).toBe(true);
      if (m[2])
        expect(
          sections(readFileSync(file, 'utf8')).map((s) => s.anchor),
          m[0],
        ).toContain(m[2]);
    }
  });
});
