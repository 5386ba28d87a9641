/**
 * @module config readers
 * The readers ipamd's schemas use on top of the providers' own (providers/env-settings.ts): enumerations,
 * listen addresses, IPv4 networks, netfilter marks. Each invalid value is a {@link ConfigError} naming the variable.
 */
import { Address4 } from 'ip-address';
import { present, readBool, readInt, type Env } from '../../providers/env-settings.js';
import { ConfigError } from '../../providers/errors.js';

export { present, readBool, readInt, type Env };

export function readEnum<T extends string>(env: Env, name: string, values: readonly T[], def: T): T {
  const raw = present(env, name);
  if (raw === undefined) return def;
  if (!(values as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `expected one of ${values.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return Address4.isValid(host) && new Address4(host).isInSubnet(new Address4('127.0.0.0/8'));
}

export type ListenAddress = { host: string; port: number } | undefined;

/** Parses `host:port` or `:port`. Loopback-only listeners reject any other host. */
export function readListen(env: Env, name: string, def: string, loopbackOnly: boolean): ListenAddress {
  const raw = present(env, name) ?? def;
  if (raw.toLowerCase() === 'off') return undefined;
  const m = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(raw);
  if (!m) throw new ConfigError(name, `expected host:port, :port or off, got "${raw}"`);
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '') || (loopbackOnly ? '127.0.0.1' : '0.0.0.0');
  const port = Number(m[2]);
  if (port > 65535) throw new ConfigError(name, `port ${port} is out of range`);
  if (loopbackOnly && !isLoopback(host)) {
    throw new ConfigError(
      name,
      `must bind to loopback (127.0.0.0/8 or ::1), got "${host}": introspection exposes Pod data`,
    );
  }
  return { host, port };
}

export function readCidr(env: Env, name: string, def: string): string {
  const raw = present(env, name) ?? def;
  if (!Address4.isValid(raw) || !raw.includes('/')) throw new ConfigError(name, `expected an IPv4 CIDR, got "${raw}"`);
  const a = new Address4(raw);
  if (a.startAddress().address !== a.addressMinusSuffix) {
    throw new ConfigError(
      name,
      `${raw} is not a network address (did you mean ${a.startAddress().address}/${a.subnetMask}?)`,
    );
  }
  return raw;
}

/** A comma list of IPv4 network CIDRs (empty entries ignored), each checked like {@link readCidr}. */
export function readCidrList(env: Env, name: string): string[] {
  const raw = present(env, name);
  if (raw === undefined) return [];
  const out: string[] = [];
  for (const part of raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    out.push(readCidr({ [name]: part }, name, part));
  }
  return [...new Set(out)];
}

/** Decimal or 0x-hex, as Go's strconv.ParseInt(v, 0, 64) reads it; a non-zero 32-bit mark. */
export function readMark(env: Env, name: string, def: number): number {
  const raw = present(env, name);
  if (raw === undefined) return def;
  const n = /^0x[0-9a-f]{1,8}$/i.test(raw) ? parseInt(raw.slice(2), 16) : /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 0xffffffff) {
    throw new ConfigError(name, `expected a non-zero 32-bit mark (decimal or 0x hex), got "${raw}"`);
  }
  return n;
}

/** A decimal number in [min, max] (a scale factor, not a count). */
export function readNumber(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = present(env, name);
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new ConfigError(name, `expected a number from ${min} to ${max}, got "${raw}"`);
  return n;
}
