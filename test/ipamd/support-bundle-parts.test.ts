/**
 * The support bundle's parts on their own: what redaction hides and what it keeps, the archive as the system
 * tar reads it, and a host tool that is not installed.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Collected } from '../../ipamd/ctl/commands/support-bundle-entries.js';
import { listedPaths } from '../../ipamd/ctl/commands/support-bundle-daemon.js';
import { isSecretPath } from '../../ipamd/ctl/commands/support-bundle-files.js';
import { collectHost } from '../../ipamd/ctl/commands/support-bundle-host.js';
import {
  isSecretName,
  redactAssignments,
  redactJson,
  redactText,
} from '../../ipamd/ctl/commands/support-bundle-redact.js';
import { ArchiveNameError, TarBuilder } from '../../ipamd/ctl/commands/support-bundle-tar.js';

describe('redaction', () => {
  it('hides values named like a credential, keeps attachment keys and ordinary settings', () => {
    for (const n of ['AWS_SECRET_ACCESS_KEY', 'GCP_ACCESS_TOKEN', 'privateKey', 'db_password', 'credentials'])
      expect(isSecretName(n), n).toBe(true);
    for (const n of ['key', 'keys', 'keyId', 'WARM_IP_TARGET', 'monkeyBusiness', 'VPC_IPAM_LOG_FILE'])
      expect(isSecretName(n), n).toBe(false);
    expect(redactJson({ key: 'net/c1/eth0', nested: [{ sessionToken: 'abc', enabled: true, apiKey: '' }] })).toEqual({
      key: 'net/c1/eth0',
      nested: [{ sessionToken: '[redacted]', enabled: true, apiKey: '' }],
    });
  });

  it('hides credential shapes anywhere: AWS key ids, bearer tokens, JWTs, PEM keys', () => {
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----';
    const text = `id=AKIAIOSFODNN7EXAMPLE auth: Bearer abc.def-123456 jwt eyJhbGciOi.eyJzdWIiOiJ4In0.sig\n${pem}\n`;
    const out = redactText(text);
    expect(out).toBe('id=[redacted] auth: Bearer [redacted] jwt [redacted]\n[redacted]\n');
    expect(
      redactAssignments([
        ['AWS_PROFILE', 'prod'],
        ['MY_TOKEN', 'x'],
        ['NOTE', 'ASIAIOSFODNN7EXAMPLE'],
      ]),
    ).toBe('AWS_PROFILE=prod\nMY_TOKEN=[redacted]\nNOTE=[redacted]\n');
    // JSON lines (the logs): by name as well as by shape, line by line.
    expect(redactText('{"msg":"x","password":"hunter2"}\nplain line\n')).toBe(
      '{"msg":"x","password":"[redacted]"}\nplain line\n',
    );
  });

  it('never opens the service-account token directory', () => {
    expect(isSecretPath('/var/run/secrets/kubernetes.io/serviceaccount/token')).toBe(true);
    expect(isSecretPath('/run/vpc-ipam')).toBe(false);
  });

  it('takes only plain paths from the index ipamd serves', () => {
    const body = JSON.stringify({ paths: ['/v1/pool', '/v1/../etc/passwd', '/v1/x?y=1'], more: { '/v1/enis': 1 } });
    expect(listedPaths(body)).toEqual(['/v1/enis', '/v1/pool']);
    expect(listedPaths('not json')).toEqual([]);
  });
});

describe('archive', () => {
  it('is a .tar.gz the system tar lists and unpacks byte for byte', () => {
    const t = new TarBuilder(Date.UTC(2026, 11, 3));
    const binary = Buffer.from([0, 1, 2, 255]);
    t.add('top/a.txt', 'hello\n');
    t.add('top/dir/b.bin', binary);
    t.add('top/empty.txt', '');
    t.add(`top/${'x'.repeat(90)}`, 'long name');
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'tar-'));
    fs.writeFileSync(path.join(dir, 'a.tar.gz'), t.gzip());
    const listing = execFileSync('tar', ['-tzf', path.join(dir, 'a.tar.gz')], { encoding: 'utf8' });
    expect(listing.trim().split('\n')).toEqual([
      'top/a.txt',
      'top/dir/b.bin',
      'top/empty.txt',
      `top/${'x'.repeat(90)}`,
    ]);
    execFileSync('tar', ['-xzf', path.join(dir, 'a.tar.gz'), '-C', dir]);
    expect(fs.readFileSync(path.join(dir, 'top/a.txt'), 'utf8')).toBe('hello\n');
    expect(fs.readFileSync(path.join(dir, 'top/dir/b.bin'))).toEqual(binary);
    expect(() => t.add('top/a.txt', 'again')).toThrow(ArchiveNameError);
    expect(() => t.add('../escape', 'x')).toThrow(ArchiveNameError);
  });
});

describe('host state', () => {
  it('a tool that is not installed is a note, and the others still run', async () => {
    const procSys = fs.mkdtempSync(path.join(tmpdir(), 'proc-sys-'));
    fs.mkdirSync(path.join(procSys, 'net/ipv4/conf/eth0'), { recursive: true });
    fs.writeFileSync(path.join(procSys, 'net/ipv4/ip_forward'), '1\n');
    fs.writeFileSync(path.join(procSys, 'net/ipv4/conf/eth0/rp_filter'), '2\n');
    const c = new Collected();
    await collectHost(
      c,
      [
        ['host/none.txt', ['vpc-ipam-no-such-tool', '--version']],
        ['host/echo.txt', ['echo', 'hi']],
      ],
      procSys,
    );
    expect(c.notes.find((n) => n.what === 'vpc-ipam-no-such-tool --version')!.outcome).toBe(
      'vpc-ipam-no-such-tool is not installed',
    );
    expect(c.files.find((f) => f.name === 'host/echo.txt')!.content).toBe('hi\n');
    const sysctls = String(c.files.find((f) => f.name === 'host/sysctls.txt')!.content);
    expect(sysctls).toContain('net.ipv4.ip_forward = 1\n');
    expect(sysctls).toContain('net.ipv4.conf.eth0.rp_filter = 2\n');
  });
});
