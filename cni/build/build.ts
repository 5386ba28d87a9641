/**
 * @module CNI plugin build (npm run build:cni)
 * 1. esbuild bundles cni/entry.ts to one CJS file, dist/cni/vpc-ipam.cjs
 *    (CJS loads ~30-50 ms faster than ESM imports for a cold process).
 * 2. `node --experimental-sea-config` turns it into a SEA blob, with the
 *    netlink native addon as an asset (needed only by the offline DEL). The
 *    default variant is a V8 start-up snapshot: the bundle runs at build
 *    time, warms ADD/DEL/VERSION up with fakes (cni/warm-up.ts) and the
 *    snapshot keeps the loaded modules and compiled functions.
 * 3. The node binary is copied, made deaf to NODE_OPTIONS and
 *    NODE_EXTRA_CA_CERTS (patch-node-env.ts), and the blob is injected with
 *    postject behind the SEA fuse.
 * 4. The result is verified: VERSION answers, and answers identically with a
 *    NODE_OPTIONS preload that would fail and a bogus NODE_EXTRA_CA_CERTS.
 * 5. The compiled shim (cni/shim/, ./shim.ts) is built beside it as dist/cni/vpc-ipam, the file the runtime
 *    execs; the single executable is dist/cni/vpc-ipam-node, its fallback. Verified: the shim's VERSION is the
 *    single executable's (the shim hands it over by execve).
 *
 * Flags: `--js-only` (step 1 only, for tests), `--no-shim` (skip 5: the image builds the shim in a stage with a
 * compiler, deploy/Dockerfile), `--variant=snapshot|codecache|plain`
 * (SEA start-up mode, default {@link DEFAULT_VARIANT}), `--no-patch` (skip 3's
 * env patch; then the binary honours both variables, as plain Node does).
 * Build code may exec the local node binary with fixed arguments; shipped code never execs.
 */

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { patchNodeEnvNames } from './patch-node-env.js';
import { buildShim } from './shim.js';

export type Variant = 'snapshot' | 'codecache' | 'plain';
/** Chosen by measurement (snapshot + warm-up: ~30% less CPU per ADD than code cache), docs/cni.md "Start-up cost". */
export const DEFAULT_VARIANT: Variant = 'snapshot';
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const outDir = path.join(root, 'dist/cni');
export const BUNDLE = path.join(outDir, 'vpc-ipam.cjs');
/** The single executable: the shim's fallback (the name is fixed in cni/shim/vpc-ipam-shim.c). */
export const BINARY = path.join(outDir, 'vpc-ipam-node');
/** The compiled shim: what the runtime execs as `type: vpc-ipam` (docs/cni.md "The shim"). */
export const SHIM = path.join(outDir, 'vpc-ipam');

/** Step 1: the bundle. Fast (~100 ms); tests build their own copy into a temp directory. */
export async function buildBundle(outfile = BUNDLE, quiet = false): Promise<string> {
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  const result = await esbuild.build({
    entryPoints: [path.join(root, 'cni/entry.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    // netlink loads its addon through node-gyp-build; ours also knows SEA assets.
    alias: { 'node-gyp-build': path.join(root, 'cni/build/netlink-native.cts') },
    logLevel: 'warning',
    metafile: true,
  });
  const bytes = Object.values(result.metafile.outputs)[0]?.bytes ?? 0;
  if (!quiet) console.log(`bundle: ${path.relative(root, outfile)} (${(bytes / 1024).toFixed(0)} KiB)`);
  return outfile;
}

function netlinkAddon(): string {
  const req = createRequire(import.meta.url);
  const dir = path.dirname(req.resolve('netlink/package.json'));
  const file = path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`, 'node.napi.node');
  if (!fs.existsSync(file)) throw new Error(`netlink prebuild missing: ${file}`);
  return file;
}

/**
 * Steps 2-4. Intermediate files live in a private temp dir and the binary
 * appears by rename, so concurrent builds (parallel test files) never see a
 * half-written file.
 */
export async function buildBinary(variant: Variant, patch: boolean, bundle = BUNDLE, out = BINARY): Promise<string> {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const work = fs.mkdtempSync(path.join(path.dirname(out), '.sea-'));
  try {
    return await buildBinaryIn(work, variant, patch, bundle, out);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function buildBinaryIn(
  work: string,
  variant: Variant,
  patch: boolean,
  bundle: string,
  out: string,
): Promise<string> {
  const blob = path.join(work, 'vpc-ipam.blob');
  const seaConfig = path.join(work, 'sea-config.json');
  fs.writeFileSync(
    seaConfig,
    JSON.stringify(
      {
        main: bundle,
        output: blob,
        disableExperimentalSEAWarning: true,
        useSnapshot: variant === 'snapshot',
        useCodeCache: variant === 'codecache',
        assets: { 'netlink.node': netlinkAddon() },
      },
      null,
      2,
    ),
  );
  const clean = cleanEnv();
  execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: 'inherit', env: clean });

  const tmp = path.join(work, 'vpc-ipam');
  const bin = fs.readFileSync(process.execPath);
  if (patch) {
    for (const p of patchNodeEnvNames(bin)) console.log(`patched ${p.from} -> ${p.to} at ${p.sites.join(', ')}`);
  }
  fs.writeFileSync(tmp, bin, { mode: 0o755 });
  const { inject } = createRequire(import.meta.url)('postject') as {
    inject(file: string, name: string, data: Buffer, opts: { sentinelFuse: string }): Promise<void>;
  };
  await inject(tmp, 'NODE_SEA_BLOB', fs.readFileSync(blob), { sentinelFuse: SEA_FUSE });
  verify(tmp, patch);
  fs.renameSync(tmp, out);
  console.log(
    `binary: ${path.relative(root, out)} (${variant}${patch ? ', NODE_OPTIONS/NODE_EXTRA_CA_CERTS ignored' : ''})`,
  );
  return out;
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

function runVersion(bin: string, extra: Record<string, string>): string {
  return execFileSync(bin, [], {
    input: '{"cniVersion":"1.0.0"}',
    env: { PATH: '/nonexistent', CNI_COMMAND: 'VERSION', ...extra },
    encoding: 'utf8',
  }).trim();
}

function verify(bin: string, patched: boolean): void {
  const want = '{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0","1.1.0"]}';
  const plain = runVersion(bin, {});
  if (plain !== want) throw new Error(`built binary answered VERSION with ${JSON.stringify(plain)}`);
  if (!patched) return;
  // A preload that cannot be found makes an unpatched node exit 1 before main.
  let dirty: string;
  try {
    dirty = runVersion(bin, {
      NODE_OPTIONS: '--require /nonexistent/vpc-ipam-preload.cjs',
      NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem',
    });
  } catch (err) {
    const why = (err as Error).message;
    throw new Error(`binary still honours NODE_OPTIONS or NODE_EXTRA_CA_CERTS: ${why}`, { cause: err });
  }
  if (dirty !== want) throw new Error(`with NODE_OPTIONS set, VERSION answered ${JSON.stringify(dirty)}`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const variant = (args.find((a) => a.startsWith('--variant='))?.slice(10) ?? DEFAULT_VARIANT) as Variant;
  if (!['snapshot', 'codecache', 'plain'].includes(variant)) throw new Error(`unknown --variant ${variant}`);
  await buildBundle();
  if (args.includes('--js-only')) return;
  await buildBinary(variant, !args.includes('--no-patch'));
  if (args.includes('--no-shim')) return;
  buildShim(SHIM);
  // The shim hands VERSION to the single executable beside it: the answer is the same.
  const viaShim = runVersion(SHIM, {});
  if (viaShim !== runVersion(BINARY, {})) throw new Error(`the shim answered VERSION with ${viaShim}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`build:cni failed: ${(err as Error).message}`);
    process.exit(1);
  });
}
