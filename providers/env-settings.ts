/**
 * @module env settings
 * The readers every settings schema uses to turn one environment variable into a typed, validated value:
 * an invalid value is a {@link ConfigError} naming the variable, never a silent default. They live at the
 * bottom layer so the providers' own schemas (providers/aws/settings.ts, …) and ipamd's configuration read
 * variables the same way without `providers/` importing `ipamd/`.
 */
import { BOOL_SPELLINGS, parseBool } from '../cni/contract/bool.js';
import { ConfigError } from './errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** The variable's value, trimmed; undefined when unset or blank. */
export function present(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export function readInt(env: Env, name: string, def: number, opts: { min?: number; max?: number } = {}): number {
  const raw = present(env, name);
  if (raw === undefined) return def;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const n = Number(raw);
  if (opts.min !== undefined && n < opts.min) throw new ConfigError(name, `must be >= ${opts.min}, got ${n}`);
  if (opts.max !== undefined && n > opts.max) throw new ConfigError(name, `must be <= ${opts.max}, got ${n}`);
  return n;
}

/** What the AWS VPC CNI accepts (Go's strconv.ParseBool), see cni/contract/bool.ts; `yes`/`no` are refused. */
export function readBool(env: Env, name: string, def: boolean): boolean {
  const raw = present(env, name);
  if (raw === undefined) return def;
  const v = parseBool(raw);
  if (v === undefined) throw new ConfigError(name, `expected true or false (${BOOL_SPELLINGS}), got "${raw}"`);
  return v;
}
