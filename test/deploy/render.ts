/**
 * Renders the Kustomize overlays with `kubectl kustomize` (fixed arguments,
 * test code only) and parses the YAML stream.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { REPO } from '../helpers/daemon-process.js';

export type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
};

export const OVERLAYS = ['aws', 'azure', 'gcp'] as const;

/**
 * Why `kubectl kustomize` cannot render here, or undefined when it can. The
 * manifests use `patches` with targets and `labels` (kustomize >= v4.2,
 * kubectl >= 1.22). Debian's own `kubernetes-client` (bookworm: 1.20.2, with
 * kustomize v2.0.3) is too old for them, and its /usr/bin/kubectl collides
 * with the `kubectl` package these machines come with, so it is not listed in
 * .ci/packages.txt.
 */
export function kubectlProblem(): string | undefined {
  let out: string;
  try {
    out = execFileSync('kubectl', ['version', '--client', '-o', 'json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return 'kubectl is not installed (kubectl >= 1.22 renders the manifests; see docs/install.md)';
  }
  const v = (JSON.parse(out) as { kustomizeVersion?: string }).kustomizeVersion ?? '';
  const major = Number(/^v(\d+)\./.exec(v)?.[1] ?? 0);
  if (major >= 4) return undefined;
  return `kubectl embeds kustomize ${v || '(unknown)'}; the manifests need kustomize >= v4.2 (kubectl >= 1.22)`;
}

export function render(overlay: string): Obj[] {
  const dir = path.join(REPO, 'deploy/kustomize/overlays', overlay);
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 });
  return YAML.parseAllDocuments(out)
    .map((d) => d.toJS() as Obj)
    .filter((o) => o);
}

export function parseYamlFile(file: string): Obj[] {
  const text = readFileSync(path.join(REPO, file), 'utf8');
  return YAML.parseAllDocuments(text)
    .map((d) => d.toJS() as Obj)
    .filter((o) => o);
}

export function find(objs: Obj[], kind: string, name: string): Obj {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not rendered`);
  return o;
}
