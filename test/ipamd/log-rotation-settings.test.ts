/**
 * The log rotation variables: ipamd's (VPC_IPAM_LOG_MAX_*) into its configuration, the plugin's
 * (VPC_IPAM_CNI_LOG_MAX_*) through the conflist into the plugin's configuration, with the same defaults on
 * both sides when unset, and bad values refused naming the variable or key.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig as parsePluginConfig } from '../../cni/config.js';
import { DEFAULT_PLUGIN_LOG_ROTATION, MEBIBYTE } from '../../cni/contract/log-backups.js';
import { parseConfig } from '../../ipamd/config.js';
import { conflistOptionsFromEnv } from '../../ipamd/config/conflist.js';
import { renderConflist } from '../../ipamd/k8s/conflist.js';

const versions = { cniVersion: '1.0.0', cniVersions: ['1.0.0'] };

/** The plugin's configuration as libcni hands it the conflist ipamd writes from `env`. */
function pluginConfig(env: Record<string, string>) {
  const list = JSON.parse(renderConflist(conflistOptionsFromEnv(env, '/s', 1), versions)) as {
    name: string;
    plugins: Array<Record<string, unknown>>;
  };
  return {
    entry: list.plugins[0]!,
    cfg: parsePluginConfig({ ...list.plugins[0], name: list.name, cniVersion: '1.0.0' }),
  };
}

describe('log rotation settings', () => {
  it('ipamd: 100 MB and 5 backups unless set; out of range names the variable', () => {
    expect(parseConfig({}).logRotation).toEqual({ maxBytes: 100 * MEBIBYTE, maxBackups: 5 });
    const set = parseConfig({ VPC_IPAM_LOG_MAX_SIZE_MB: '20', VPC_IPAM_LOG_MAX_BACKUPS: '2' });
    expect(set.logRotation).toEqual({ maxBytes: 20 * MEBIBYTE, maxBackups: 2 });
    expect(() => parseConfig({ VPC_IPAM_LOG_MAX_SIZE_MB: '0' })).toThrow(/VPC_IPAM_LOG_MAX_SIZE_MB/);
    expect(() => parseConfig({ VPC_IPAM_LOG_MAX_BACKUPS: 'many' })).toThrow(/VPC_IPAM_LOG_MAX_BACKUPS/);
  });

  it('the plugin: nothing in the conflist unless set, and the same defaults on its side', () => {
    const unset = pluginConfig({});
    expect(unset.entry).not.toHaveProperty('logMaxSizeMB');
    expect(unset.cfg.logRotation).toEqual(DEFAULT_PLUGIN_LOG_ROTATION);
    const set = pluginConfig({ VPC_IPAM_CNI_LOG_MAX_SIZE_MB: '3' });
    expect(set.entry).toMatchObject({ logMaxSizeMB: 3, logMaxBackups: DEFAULT_PLUGIN_LOG_ROTATION.maxBackups });
    expect(set.cfg.logRotation).toEqual({ maxBytes: 3 * MEBIBYTE, maxBackups: 5 });
    expect(() => conflistOptionsFromEnv({ VPC_IPAM_CNI_LOG_MAX_BACKUPS: '0' }, '/s', 1)).toThrow(
      /VPC_IPAM_CNI_LOG_MAX_BACKUPS/,
    );
    const bad = { type: 'vpc-ipam', name: 'n', cniVersion: '1.0.0', logMaxSizeMB: 0.5 };
    expect(() => parsePluginConfig(bad)).toThrow(/logMaxSizeMB/);
  });
});
