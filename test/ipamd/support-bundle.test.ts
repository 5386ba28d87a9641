/**
 * `vpc-ipamctl support-bundle` against a real ipamd (dist/, sim cloud, address-only: nothing on the host is
 * changed) and against none: the archive unpacks with the system tar, holds every introspection view, the
 * configuration, the checkpoint, the logs and the host's network state (read-only), or a note saying why
 * not; planted credentials never reach it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCtlSettings } from '../../ipamd/config/ctl.js';
import { supportBundleCommand } from '../../ipamd/ctl/commands/support-bundle.js';
import { freePort, kill, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';

const AWS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const TOKEN = 'planted-token-3f9a8c7d6e5b';
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJlLXBsYW50ZWQ';
const PLANTED = [AWS_KEY_ID, AWS_SECRET, TOKEN, JWT];

/** Runs the verb in this process, as the CLI entry point would, and unpacks what it wrote. */
async function bundle(env: Record<string, string>, args: string[]): Promise<{ root: string; code: number }> {
  const out = path.join(fs.mkdtempSync(path.join(tmpdir(), 'bundle-')), 'b.tar.gz');
  const code = await supportBundleCommand.run(['--output', out, ...args], parseCtlSettings(env));
  expect(fs.statSync(out).mode & 0o777).toBe(0o600);
  const dest = path.join(path.dirname(out), 'x');
  fs.mkdirSync(dest);
  execFileSync('tar', ['-xzf', out, '-C', dest]);
  const [top] = fs.readdirSync(dest);
  return { root: path.join(dest, top!), code };
}

function allText(dir: string): string {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}

function plant(logDir: string, stateDir: string): void {
  fs.mkdirSync(logDir, { recursive: true });
  const line = { level: 'debug', msg: `assumed role with Authorization: Bearer ${TOKEN}`, accessKeyId: AWS_KEY_ID };
  fs.appendFileSync(path.join(logDir, 'plugin.log'), `${JSON.stringify(line)}\n`);
  fs.appendFileSync(path.join(logDir, 'plugin.log'), `{"msg":"projected","serviceAccountToken":"${JWT}"}\n`);
  fs.mkdirSync(stateDir, { recursive: true });
  fs.writeFileSync(path.join(stateDir, 'extra.json'), JSON.stringify({ cloud: { sessionToken: TOKEN } }));
}

const secretEnv = (extra: Record<string, string>) => ({
  PATH: process.env.PATH!,
  AWS_ACCESS_KEY_ID: AWS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: AWS_SECRET,
  MY_API_TOKEN: TOKEN,
  VPC_IPAM_PROVIDER: 'sim',
  ...extra,
});

describe('vpc-ipamctl support-bundle', () => {
  let d: DaemonHandle;
  beforeAll(async () => {
    d = await startDaemon({ AWS_SECRET_ACCESS_KEY: AWS_SECRET, AWS_ACCESS_KEY_ID: AWS_KEY_ID });
  });
  afterAll(async () => {
    if (d) await kill(d, 'SIGTERM');
  });

  it('with ipamd up: every listed view, config, checkpoint, logs, host state; no planted secret', async () => {
    const logDir = d.dir;
    plant(logDir, d.env.VPC_IPAM_STATE_DIR!);
    const env = secretEnv({
      VPC_IPAM_STATE_DIR: d.env.VPC_IPAM_STATE_DIR!,
      INTROSPECTION_BIND_ADDRESS: d.introspection,
    });
    const { root, code } = await bundle(env, ['--log-dir', logDir]);
    expect(code).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'MANIFEST.json'), 'utf8')) as {
      ipamdReachable: boolean;
      items: Array<{ what: string; outcome: string }>;
    };
    expect(manifest.ipamdReachable).toBe(true);
    for (const view of ['v1_pool', 'v1_nics', 'v1_assignments', 'v1_config', 'livez'])
      expect(fs.existsSync(path.join(root, `introspection/${view}.json`)), view).toBe(true);
    const config = JSON.parse(fs.readFileSync(path.join(root, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config.provider).toBe('sim');
    expect(fs.readFileSync(path.join(root, 'state/ipam.json'), 'utf8')).toContain('"version"');
    expect(fs.readFileSync(path.join(root, 'logs/ipamd.log'), 'utf8')).toContain('"component":"ipamd"');
    // Host state: each command's output, or a note that its tool is missing; never a failed bundle.
    for (const cmd of ['ip -d link show', 'ip route show table all', 'iptables-save', 'nft list ruleset']) {
      const item = manifest.items.find((i) => i.what === cmd);
      expect(item, cmd).toBeDefined();
      if (item!.outcome === 'ok') expect(fs.readdirSync(path.join(root, 'host')).length).toBeGreaterThan(0);
    }
    expect(fs.readFileSync(path.join(root, 'host/sysctls.txt'), 'utf8')).toMatch(/^net\.ipv4\.ip_forward = [01]$/m);
    const environment = fs.readFileSync(path.join(root, 'environment.txt'), 'utf8');
    expect(environment).toContain('AWS_SECRET_ACCESS_KEY=[redacted]');
    expect(environment).toContain('MY_API_TOKEN=[redacted]');
    expect(environment).toContain('AWS_ACCESS_KEY_ID=[redacted]');
    expect(environment).toContain('VPC_IPAM_PROVIDER=sim');
    const text = allText(root);
    for (const secret of PLANTED) expect(text, secret).not.toContain(secret);
    expect(fs.readFileSync(path.join(root, 'logs/plugin.log'), 'utf8')).toContain('Bearer [redacted]');
  });

  it('with ipamd down: a bundle all the same, the configuration from the environment, the outage noted', async () => {
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'bundle-down-'));
    plant(path.join(dir, 'log'), path.join(dir, 'state'));
    const port = await freePort();
    const env = secretEnv({
      VPC_IPAM_STATE_DIR: path.join(dir, 'state'),
      INTROSPECTION_BIND_ADDRESS: `127.0.0.1:${port}`,
    });
    const { root, code } = await bundle(env, ['--log-dir', path.join(dir, 'log'), '--no-host']);
    expect(code).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'MANIFEST.json'), 'utf8')) as {
      ipamdReachable: boolean;
      items: Array<{ what: string; outcome: string }>;
    };
    expect(manifest.ipamdReachable).toBe(false);
    expect(manifest.items.find((i) => i.what.startsWith('ipamd introspection'))!.outcome).toMatch(/not reachable/);
    expect(manifest.items.some((i) => i.what.startsWith('effective configuration (from the environment'))).toBe(true);
    const config = JSON.parse(fs.readFileSync(path.join(root, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config.stateDir).toBe(path.join(dir, 'state'));
    expect(fs.readFileSync(path.join(root, 'state/extra.json'), 'utf8')).toContain('"sessionToken": "[redacted]"');
    const text = allText(root);
    for (const secret of PLANTED) expect(text, secret).not.toContain(secret);
  });

  it('refuses to overwrite an existing file', async () => {
    const out = path.join(fs.mkdtempSync(path.join(tmpdir(), 'bundle-')), 'exists.tar.gz');
    fs.writeFileSync(out, 'keep');
    await expect(supportBundleCommand.run(['--output', out], parseCtlSettings({}))).rejects.toThrow(/exists/);
    expect(fs.readFileSync(out, 'utf8')).toBe('keep');
  });
});
