/**
 * @module dev runner settings
 * The `npm start` demo's variables (ipamd/dev-start.ts): VPC_IPAM_DEMO (on|off, default on) and
 * VPC_IPAM_DEMO_INTERVAL_MS (10-600000, default 1500), the pace of its Pod adds and deletes.
 */
import { ConfigError } from '../../providers/errors.js';
import { present, readInt, type Env } from './readers.js';

/** The demo's pace in ms; undefined when VPC_IPAM_DEMO=off. */
export function parseDemoInterval(env: Env): number | undefined {
  const demo = present(env, 'VPC_IPAM_DEMO') ?? 'on';
  if (demo !== 'on' && demo !== 'off') throw new ConfigError('VPC_IPAM_DEMO', `expected on or off, got "${demo}"`);
  return demo === 'on' ? readInt(env, 'VPC_IPAM_DEMO_INTERVAL_MS', 1500, { min: 10, max: 600_000 }) : undefined;
}
