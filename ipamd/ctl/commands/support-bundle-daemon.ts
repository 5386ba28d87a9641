/**
 * @module support bundle daemon views
 * What the running ipamd says about itself: every introspection view it lists at `GET /` (or, from an ipamd
 * that lists none, the views this release serves), and its effective configuration. ipamd down is a note in
 * the bundle, and the configuration then comes from the environment vpc-ipamctl runs in (in the DaemonSet's
 * container: ipamd's own).
 */
import { introspectionGet } from '../introspection-get.js';
import { Collected, reason } from './support-bundle-entries.js';
import { redactText } from './support-bundle-redact.js';

/** The views when `GET /` lists none: ours, then the AWS VPC CNI's (which an ipamd without them answers 404). */
export const KNOWN_VIEWS: readonly string[] = [
  '/healthz',
  '/livez',
  '/v1/pool',
  '/v1/nics',
  '/v1/assignments',
  '/v1/config',
  '/v1/host-network',
  '/v1/subnets',
  '/v1/enis',
  '/v1/eni-configs',
  '/v1/networkutils-env-settings',
  '/v1/ipamd-env-settings',
];

/** A path ipamd lists is used only if it is a plain one: no query, no dots, nothing to reach elsewhere. */
const PLAIN_PATH = /^\/[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/;

/** Every string that looks like a plain path in the index's JSON, whatever its shape (a list, an object). */
export function listedPaths(body: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  const found = new Set<string>();
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      if (PLAIN_PATH.test(v) && v.length <= 100) found.add(v);
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        visit(k);
        visit(x);
      }
    }
  };
  visit(parsed);
  return [...found].sort();
}

/** `/v1/eni-configs` → `introspection/v1_eni-configs.json`. */
const fileFor = (p: string) => `introspection/${p.slice(1).replaceAll('/', '_')}.json`;

/** Collects the views; true when ipamd answered at all. */
export async function collectDaemon(c: Collected, address: string, fallbackConfig: () => unknown): Promise<boolean> {
  let paths: string[];
  try {
    const index = await introspectionGet(address, '/');
    const listed = index.status === 200 ? listedPaths(index.body) : [];
    if (index.status === 200) c.file('introspection/index.json', redactText(index.body), `GET ${address}/`);
    else c.missing(`GET ${address}/`, `HTTP ${index.status}: using the views this release knows`);
    paths = listed.length ? listed : [...KNOWN_VIEWS];
  } catch (err) {
    c.missing(`ipamd introspection at ${address}`, `not reachable (${reason(err)}): is ipamd running?`);
    writeFallbackConfig(c, fallbackConfig);
    return false;
  }
  let config: string | undefined;
  for (const p of paths) {
    try {
      const r = await introspectionGet(address, p);
      if (r.status !== 200) {
        c.missing(`GET ${p}`, `HTTP ${r.status}: ${r.body.trim().slice(0, 300)}`);
        continue;
      }
      const text = redactText(r.body);
      c.file(fileFor(p), text, `GET ${p}`);
      if (p === '/v1/config') config = text;
    } catch (err) {
      c.missing(`GET ${p}`, reason(err));
    }
  }
  if (config !== undefined) c.file('config.json', config, 'effective configuration (ipamd, /v1/config)');
  else writeFallbackConfig(c, fallbackConfig);
  return true;
}

function writeFallbackConfig(c: Collected, fallbackConfig: () => unknown): void {
  try {
    const text = redactText(JSON.stringify(fallbackConfig()));
    c.file('config.json', text, 'effective configuration (from the environment: ipamd did not serve it)');
  } catch (err) {
    c.missing('effective configuration from the environment', reason(err));
  }
}
