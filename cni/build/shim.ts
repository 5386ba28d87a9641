/**
 * @module shim build (part of npm run build:cni)
 * Compiles cni/shim/vpc-ipam-shim.c to a static executable, dist/cni/vpc-ipam: what the runtime execs as
 * `type: vpc-ipam`. Static, so it runs on any node's libc (and in the distroless-ish runtime image) and the
 * dynamic loader's start cost is gone. The compiler is the local `cc` with fixed arguments (no shell); the
 * binary appears by rename, as the single executable does (build.ts), so a concurrent build never sees half.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const SHIM_SOURCE = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../shim/vpc-ipam-shim.c');

/** Builds the shim at `out`; `defines` are -D flags (tests only: e.g. another fallback name). */
export function buildShim(out: string, defines: Record<string, string> = {}, quiet = false): string {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.tmp`);
  const flags = Object.entries(defines).map(([k, v]) => `-D${k}=${v}`);
  try {
    execFileSync('cc', ['-O2', '-static', '-Wall', '-Wextra', '-Werror', ...flags, '-o', tmp, SHIM_SOURCE], {
      stdio: quiet ? 'pipe' : 'inherit',
    });
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, out);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  if (!quiet) console.log(`shim: ${out} (static)`);
  return out;
}
