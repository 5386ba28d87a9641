/**
 * Renders the Kustomize overlays with `kubectl kustomize` (fixed arguments,
 * test code only) and parses the YAML stream.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { REPO } from '../helpers/daemon-process.js';

export type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: unknown };

export const OVERLAYS = ['aws', 'azure', 'gcp'] as const;

export function kubectlAvailable(): string | undefined {
  try {
    return execFileSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
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
  return YAML.parseAllDocuments(text).map((d) => d.toJS() as Obj).filter((o) => o);
}

export function find(objs: Obj[], kind: string, name: string): Obj {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not rendered`);
  return o;
}
