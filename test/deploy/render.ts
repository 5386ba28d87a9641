/**
 * Renders the Kustomize overlays with `kubectl kustomize` (fixed arguments,
 * test code only) and parses the YAML stream.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** An overlay by name, or a kustomization directory by absolute path. */
export function render(overlay: string): Obj[] {
  const dir = path.isAbsolute(overlay) ? overlay : path.join(REPO, 'deploy/kustomize/overlays', overlay);
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 });
  return YAML.parseAllDocuments(out)
    .map((d) => d.toJS() as Obj)
    .filter((o) => o);
}

/** An overlay with optional components added, as a user's own overlay would add them. */
export function renderWithComponents(overlay: string, components: string[]): Obj[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'overlay-'));
  const rel = (p: string) => path.relative(dir, path.join(REPO, 'deploy/kustomize', p));
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [rel(`overlays/${overlay}`)],
    components: components.map((c) => rel(`components/${c}`)),
  };
  writeFileSync(path.join(dir, 'kustomization.yaml'), YAML.stringify(kustomization));
  return render(dir);
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
