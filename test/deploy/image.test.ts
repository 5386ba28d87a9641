/**
 * The image, offline (no container engine or registry here): deploy/Dockerfile passes a Dockerfile linter
 * (dockerfile-utils), pulls only through ARG image references a release pins by digest, runs as an explicit
 * user without npm or corepack, carries iptables and plugins that speak CNI 1.1.0, and installs what the
 * DaemonSet executes; deploy/scripts/build-image.sh refuses floating tags and builds multi-arch with SBOM
 * and provenance.
 */
import { execFile } from 'node:child_process';
import { builtinModules } from 'node:module';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import {
  AZURE_COMPUTE_OPERATION_GROUPS,
  AZURE_NETWORK_OPERATION_GROUPS,
  buildDaemonBundle,
  EXTERNAL,
} from '../../ipamd/build/bundle.js';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../../ipamd/build/node-flags.js';
import { REPO } from '../helpers/daemon-process.js';
import { find, render } from './render.js';

const DF = readFileSync(path.join(REPO, 'deploy/Dockerfile'), 'utf8');
const SCRIPT = path.join(REPO, 'deploy/scripts/build-image.sh');
const digest = (c: string) => `@sha256:${c.repeat(64)}`;

async function build(env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await promisify(execFile)(SCRIPT, [], { env: { PATH: process.env.PATH!, DRY_RUN: 'true', ...env } });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

/** The instructions of the last stage (the runtime image). */
const runtime = DF.slice(DF.lastIndexOf('\nFROM '));

describe('deploy/Dockerfile', () => {
  it('has no linter findings, and the linter does find a broken file', () => {
    expect(validate(DF).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
    expect(validate(`${DF}\nEXPOSE notaport\nFROM\n`).length).toBeGreaterThan(0);
  });

  it('pulls only through ARG references (a release passes digests), never a literal tag', () => {
    const froms = [...DF.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    // build, the CNI shim (the Go image has gcc), upstream plugins, runtime.
    expect(froms).toEqual(['${NODE_IMAGE}', '${GO_IMAGE}', '${GO_IMAGE}', '${NODE_IMAGE}']);
    expect(DF).toMatch(/^ARG NODE_IMAGE=\S+$/m);
    expect(DF).toMatch(/^ARG GO_IMAGE=\S+$/m);
    expect(DF).toMatch(/^ARG CNI_PLUGINS_VERSION=v\d+\.\d+\.\d+$/m);
  });

  it('runtime stage: explicit USER, no npm/npx/corepack/yarn, iptables installed', () => {
    expect(runtime).toMatch(/^USER 0:0$/m);
    for (const tool of ['npm', 'npx', 'corepack', 'yarn']) expect(runtime).toContain(`/usr/local/bin/${tool}`);
    expect(runtime).toContain('rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack');
    expect(runtime).toMatch(/apt-get install -y --no-install-recommends iptables\b/);
    // The plugins are checked to speak the newest CNI version the conflist may declare.
    expect(DF).toContain(`CNI_COMMAND=VERSION /out/$p | grep -q '"1.1.0"'`);
  });

  it('installs everything the DaemonSet executes, where it executes it', () => {
    type Pod = { initContainers: Array<{ command: string[] }>; containers: Array<{ name: string; args: string[] }> };
    const ds = find(render('aws'), 'DaemonSet', 'vpc-ipam-node') as unknown as { spec: { template: { spec: Pod } } };
    const pod = ds.spec.template.spec;
    expect(runtime).toContain(`COPY deploy/scripts/install-cni.sh ${pod.initContainers[0]!.command[0]}`);
    // The daemon: its bundle, under the V8 limits of ipamd/build/node-flags.ts (the bench measures that launch).
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(runtime)![1]!) as string[];
    expect(entrypoint).toEqual(['node', ...DAEMON_NODE_FLAGS, '/app/dist/bundle/ipamd/main.js']);
    expect(DF).toMatch(/&& npm run build:daemon \\\n && test -f dist\/bundle\/ipamd\/main\.js/);
    expect(runtime).toContain('COPY --from=build /src/dist/bundle ./dist/bundle');
    // Its externals come from node_modules, production dependencies (npm prune --omit=dev keeps them).
    expect(runtime).toContain('COPY --from=build /src/node_modules ./node_modules');
    const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    for (const dep of EXTERNAL) expect(Object.keys(pkg.dependencies), dep).toContain(dep);
    // `npm start` runs the bundle the same way.
    const env = Object.entries(DAEMON_ENV).map(([k, v]) => `${k}=${v}`);
    expect(pkg.scripts.start).toContain(
      `${env.join(' ')} node ${DAEMON_NODE_FLAGS.join(' ')} dist/bundle/ipamd/dev-start.js`,
    );
    for (const e of env) expect(runtime).toMatch(new RegExp(`^ENV ${e.replace(/[.]/g, '\\.')}$`, 'm'));
    // vpc-ipamctl: every directory its code reaches from its entry point is in the image (tsc output).
    expect(runtime).toContain('COPY --from=build /src/dist/ipamd ./dist/ipamd');
    const dirs = importedDirs('ipamd/ctl/main.ts');
    // The socket server reaches the plugin's verbs (ipamd/api/plugin-host.ts): all of cni/, contract included.
    if (dirs.has('cni')) dirs.delete('cni/contract');
    for (const dir of dirs) {
      expect(runtime, dir).toContain(`COPY --from=build /src/dist/${dir} ./dist/${dir}`);
    }
    expect(pod.containers.find((c) => c.name === 'ipamd')!.args).toEqual(['run']);
    // install-cni.sh's default plugin list, each copied into its source directory.
    const script = readFileSync(path.join(REPO, 'deploy/scripts/install-cni.sh'), 'utf8');
    const plugins = /VPC_IPAM_CNI_PLUGINS:-"([^"]+)"/.exec(script)![1]!.split(' ');
    const copied = [...runtime.matchAll(/^COPY --from=\S+ (.+) \/opt\/vpc-ipam\/cni\/(\S*)$/gm)].flatMap((m) =>
      m[2] ? [m[2]] : m[1]!.split(' ').map((s) => path.basename(s)),
    );
    expect(copied.sort()).toEqual(plugins.sort());
  });
});

describe('daemon bundle (ipamd/build/bundle.ts)', () => {
  it('keeps exactly the Azure operation groups arm-client.ts calls (the others are cut from the bundle)', () => {
    // The scale-set path (compute) runs only on VMSS nodes, which no process test starts: this is its guard.
    const src = readFileSync(path.join(REPO, 'providers/azure/arm-client.ts'), 'utf8');
    const used = (re: RegExp) => [...new Set([...src.matchAll(re)].map((m) => m[1]!))].sort();
    expect(used(/this\.net\.(\w+)/g)).toEqual([...AZURE_NETWORK_OPERATION_GROUPS].sort());
    expect(used(/compute\.(\w+)/g)).toEqual([...AZURE_COMPUTE_OPERATION_GROUPS].sort());
  });

  it('loads at run time only node builtins, its own files and the externals the image copies', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'ipamd-bundle-'));
    try {
      const { metafile, files } = await buildDaemonBundle(path.join(out, 'bundle'), true);
      const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
      const external = new Set<string>();
      for (const o of Object.values(metafile.outputs))
        for (const i of o.imports) if (i.external && !builtins.has(i.path)) external.add(i.path);
      // A variable specifier (monitor/integration.ts) shows as no path; every named one is an allowed package.
      for (const spec of external)
        expect(
          EXTERNAL.some((e) => spec === e || spec.startsWith(`${e}/`)),
          spec,
        ).toBe(true);
      // The runtime-relative paths the daemon opens (see the module comment of bundle.ts) exist in the bundle.
      for (const f of ['ipamd/main.js', 'ipamd/dev-start.js', 'ipamd/netlink-worker.js', 'k8s/monitor-integration.js'])
        expect(Object.keys(files), f).toContain(f);
      expect(existsSync(path.join(out, 'bundle/ipamd/main.js'))).toBe(true);
      // No chunk outside ipamd/ but the monitor's integration: chunks resolve './netlink-worker.js' beside them.
      expect(Object.keys(files).filter((f) => !f.startsWith('ipamd/'))).toEqual(['k8s/monitor-integration.js']);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});

/** The source directories (ipamd, providers, cni/contract) reached from `entry` by relative imports. */
function importedDirs(entry: string): Set<string> {
  const seen = new Set<string>();
  const dirs = new Set<string>();
  const queue = [entry];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    dirs.add(file.startsWith('cni/contract/') ? 'cni/contract' : file.split('/')[0]!);
    const text = readFileSync(path.join(REPO, file), 'utf8');
    for (const m of text.matchAll(/(?:from |import\()'(\.{1,2}\/[^']+)\.js'/g)) {
      queue.push(path.posix.normalize(path.posix.join(path.posix.dirname(file), `${m[1]}.ts`)));
    }
  }
  return dirs;
}

describe('deploy/scripts/build-image.sh', () => {
  it('refuses an unset or floating base image, naming the variable and the fix', async () => {
    const unset = await build({});
    expect(unset.code).toBe(2);
    expect(unset.err).toMatch(/NODE_IMAGE is not set \(a base image as name@sha256:<digest>/);
    const floating = await build({ NODE_IMAGE: 'node:22-bookworm-slim', GO_IMAGE: `golang${digest('b')}` });
    expect(floating.code).toBe(2);
    expect(floating.err).toMatch(/NODE_IMAGE='node:22-bookworm-slim' is a floating tag; pin it/);
    const injected = await build({ NODE_IMAGE: `node;rm -rf /${digest('a')}`, GO_IMAGE: `golang${digest('b')}` });
    expect(injected.err).toMatch(/has characters an image reference cannot have/);
  });

  it('with digests: multi-arch, SBOM, max provenance, the plugin release and the digests passed through', async () => {
    const r = await build({ NODE_IMAGE: `node:22-bookworm-slim${digest('a')}`, GO_IMAGE: `golang:1.24${digest('b')}` });
    expect(r.code).toBe(0);
    expect(r.out).toContain('--platform linux/amd64,linux/arm64');
    expect(r.out).toContain('--sbom=true --provenance=mode=max');
    expect(r.out).toContain(`--build-arg NODE_IMAGE=node:22-bookworm-slim${digest('a')}`);
    expect(r.out).toContain('--build-arg CNI_PLUGINS_VERSION=v1.6.2');
    expect(r.out).toMatch(/-t ghcr\.io\/vpc-ipam\/vpc-ipam:\d+\.\d+\.\d+ --push \.$/m);
  });

  it('floating tags only when told, with a warning; PUSH=false needs one platform', async () => {
    const dev = await build({ NODE_IMAGE: 'node:22', GO_IMAGE: 'golang:1.24', VPC_IPAM_ALLOW_FLOATING: 'true' });
    expect(dev.code).toBe(0);
    expect(dev.err).toMatch(/warning: NODE_IMAGE=node:22 is not pinned/);
    const floating = { NODE_IMAGE: 'node:22', GO_IMAGE: 'golang:1.24', VPC_IPAM_ALLOW_FLOATING: 'true' };
    const load = await build({ ...floating, PUSH: 'false' });
    expect(load.err).toMatch(/takes one platform/);
  });
});
