/**
 * @module sim options
 * Checks the simulator's inputs before anything runs, so a typo is an error
 * naming the flag, not a replay with silently different settings.
 */
import { Address4 } from 'ip-address';
import { ConfigError } from '../../providers/errors.js';
import { lookupEc2Limits } from '../../providers/limits/ec2-limits.js';
import {
  SIM_ACTIONS,
  latencyProfile,
  resolveLatency,
  type LatencyOverrides,
  type SimAction,
} from '../../providers/sim/index.js';

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** `NAME=VALUE` pairs (repeatable `--env`); a later pair overrides an earlier one. */
export function parseEnvPairs(pairs: readonly string[], flag = '--env'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    const name = eq < 0 ? p : p.slice(0, eq);
    if (eq < 0 || !ENV_NAME.test(name))
      throw new ConfigError(flag, `expected NAME=VALUE with NAME in capitals (e.g. WARM_IP_TARGET=2), got "${p}"`);
    out[name] = p.slice(eq + 1);
  }
  return out;
}

const LATENCY_KEYS = 'profile, metadataPropagation, detachSettle, consistencyWindow, notFoundRatio';

/**
 * `KEY=VALUE` pairs (repeatable `--latency`): an EC2 action name `=MS`; `metadataPropagation=MS` (fixed) or
 * `=MIN-MAX` (drawn per attach); `detachSettle=MS`; `consistencyWindow=MS`; `notFoundRatio=0..1`; and
 * `profile=realistic|legacy|zero`, the table the other pairs change, wherever it stands (default realistic).
 */
export function parseLatencyPairs(pairs: readonly string[], flag = '--latency'): LatencyOverrides {
  let base: LatencyOverrides = {};
  const actions: Partial<Record<SimAction, number>> = {};
  const knobs: LatencyOverrides = {};
  for (const p of pairs) {
    const m = /^([A-Za-z]+)=(.+)$/.exec(p);
    if (!m) throw new ConfigError(flag, `expected ACTION=MILLISECONDS (e.g. AssignPrivateIpAddresses=300), got "${p}"`);
    const [, name, value] = m as unknown as [string, string, string];
    if (name === 'profile') {
      base = latencyProfile(value, flag);
      continue;
    }
    const range = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$/.exec(value);
    if (!range || (range[2] !== undefined && name !== 'metadataPropagation')) {
      const want = name === 'metadataPropagation' ? 'MS or MIN-MAX' : 'a number';
      throw new ConfigError(flag, `${name} takes ${want}, got "${value}"`);
    }
    const ms = Number(range[1]);
    if (name === 'metadataPropagation') {
      knobs.metadataPropagationMs = ms;
      knobs.metadataPropagationMaxMs = range[2] !== undefined ? Number(range[2]) : ms;
    } else if (name === 'detachSettle') knobs.detachSettleMs = ms;
    else if (name === 'consistencyWindow') knobs.consistencyWindowMs = ms;
    else if (name === 'notFoundRatio') knobs.notFoundRatio = ms;
    else if ((SIM_ACTIONS as readonly string[]).includes(name)) actions[name as SimAction] = ms;
    else throw new ConfigError(flag, `unknown action "${name}"; one of ${SIM_ACTIONS.join(', ')}, or ${LATENCY_KEYS}`);
  }
  // The whole profile, then the pairs: the result resolves the same over any default.
  return resolveLatency({ ...knobs, actions }, resolveLatency(base));
}

export function checkInstanceType(type: string, flag = '--instance-type'): string {
  if (!lookupEc2Limits(type))
    throw new ConfigError(flag, `unknown instance type "${type}" (not in the EC2 limits table; e.g. m5.large)`);
  return type;
}

/** An IPv4 network address with a prefix length EC2 allows for a subnet (/16 to /28). */
export function checkSubnetCidr(cidr: string, flag = '--subnet'): string {
  if (!Address4.isValid(cidr) || !cidr.includes('/'))
    throw new ConfigError(flag, `expected an IPv4 CIDR such as 10.0.0.0/24, got "${cidr}"`);
  const a = new Address4(cidr);
  if (a.startAddress().address !== a.addressMinusSuffix) {
    throw new ConfigError(
      flag,
      `${cidr} is not a network address (did you mean ${a.startAddress().address}/${a.subnetMask}?)`,
    );
  }
  if (a.subnetMask < 16 || a.subnetMask > 28)
    throw new ConfigError(flag, `an EC2 subnet is /16 to /28, got /${a.subnetMask}`);
  return cidr;
}
