import type { CtlSettings } from '../config/ctl.js';

/**
 * @module ctl command contract
 * Each `vpc-ipamctl` verb is one module exporting a {@link CtlCommand}; the
 * entry point only routes. Commands print results on stdout and errors on
 * stderr, and return the exit code.
 */
export interface CtlCommand {
  name: string;
  /** One line for `vpc-ipamctl help`. */
  summary: string;
  usage: string;
  /** `settings`: what the entry point read from the environment for commands (ipamd/config/ctl.ts). */
  run(argv: string[], settings: CtlSettings): Promise<number>;
}

/** A command-line mistake: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

/** Minimal flag parser: `--name value`, `--name=value`, boolean `--flag`, repeated flags collected. */
export function parseFlags(
  argv: string[],
  spec: Record<string, 'string' | 'boolean' | 'multi'>,
): { flags: Record<string, string | boolean | string[] | undefined>; rest: string[] } {
  const flags: Record<string, string | boolean | string[] | undefined> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      rest.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown option --${name}`);
    if (kind === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (kind === 'multi') flags[name] = [...((flags[name] as string[] | undefined) ?? []), value];
    else flags[name] = value;
  }
  return { flags, rest };
}
