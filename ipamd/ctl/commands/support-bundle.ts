/**
 * @module ctl support-bundle
 * `vpc-ipamctl support-bundle [--output FILE]`: one .tar.gz with what an engineer needs to debug a node, for a
 * ticket or an issue (docs/troubleshooting.md "Support bundle"). Run it on the node, or in the ipamd container
 * (`kubectl exec`), where the paths and the environment are ipamd's:
 *
 * - `config.json`: the effective configuration (ipamd's `/v1/config`, else parsed from the environment),
 *   `environment.txt`: the environment;
 * - `introspection/`: every view ipamd lists at `GET /`;
 * - `state/`: the checkpoint and the rest of the state directory; `logs/`: the recent logs;
 * - `host/`: links, addresses, routes, rules (IPv4 and IPv6), iptables and nft rules, sysctls; `versions/`;
 * - `MANIFEST.json`: every item, `ok` or why it is missing (a tool not installed, ipamd down).
 *
 * Credentials are redacted before anything is written (./support-bundle-redact.ts). The archive is created
 * 0600 and never over an existing file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VERSION } from '../../version.js';
import { parseFlags, UsageError, type CtlCommand } from '../command.js';
import { collectDaemon } from './support-bundle-daemon.js';
import { Collected } from './support-bundle-entries.js';
import { collectLogs, collectState } from './support-bundle-files.js';
import { collectHost } from './support-bundle-host.js';
import { redactAssignments } from './support-bundle-redact.js';
import { TarBuilder } from './support-bundle-tar.js';

const USAGE =
  'vpc-ipamctl support-bundle [--output FILE] [--introspection 127.0.0.1:61679 | unix:PATH] ' +
  '[--state-dir /run/vpc-ipam] [--log-dir /var/log/vpc-ipam] [--no-host]';

/** `20261203T201000Z`: sorts by time, safe in a file name. */
function stamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export const supportBundleCommand: CtlCommand = {
  name: 'support-bundle',
  summary: 'write a .tar.gz of config, state, logs and host networking for debugging (secrets redacted)',
  usage: USAGE,
  async run(argv, settings) {
    const spec = {
      output: 'string',
      introspection: 'string',
      'state-dir': 'string',
      'log-dir': 'string',
      'no-host': 'boolean',
    } as const;
    const { flags, rest } = parseFlags(argv, spec);
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const now = Date.now();
    const top = `vpc-ipam-support-${os.hostname().replace(/[^A-Za-z0-9.-]/g, '_')}-${stamp(now)}`;
    const output = path.resolve(str(flags.output) ?? `${top}.tar.gz`);
    const address = str(flags.introspection) ?? settings.introspection ?? '127.0.0.1:61679';
    const stateDir = str(flags['state-dir']) ?? settings.stateDir ?? '/run/vpc-ipam';
    const logDir = str(flags['log-dir']) ?? '/var/log/vpc-ipam';
    // Refuse an existing output before collecting for a minute.
    if (fs.existsSync(output)) throw new UsageError(`${output} exists; give another --output`);

    const c = new Collected();
    const up = await collectDaemon(c, address, () => settings.daemonSettings());
    c.file('environment.txt', redactAssignments(settings.environment), "vpc-ipamctl's environment");
    collectState(c, stateDir);
    collectLogs(c, logDir);
    if (flags['no-host'] !== true) await collectHost(c);
    else c.missing('host network state', '--no-host');
    const versions = { vpcIpamctl: VERSION, node: process.version, platform: `${os.platform()} ${os.release()}` };
    c.file('versions/vpc-ipam.json', `${JSON.stringify(versions, null, 2)}\n`, 'versions');

    const tar = new TarBuilder(now);
    const manifest = { created: new Date(now).toISOString(), ipamdReachable: up, address, stateDir, logDir };
    tar.add(`${top}/MANIFEST.json`, `${JSON.stringify({ ...manifest, items: c.notes }, null, 2)}\n`);
    for (const f of c.files) tar.add(`${top}/${f.name}`, f.content);
    fs.writeFileSync(output, tar.gzip(), { mode: 0o600, flag: 'wx' });

    const missing = c.notes.filter((n) => n.outcome !== 'ok');
    process.stdout.write(`${output}\n`);
    for (const m of missing) process.stderr.write(`  not collected: ${m.what}: ${m.outcome}\n`);
    return 0;
  },
};
