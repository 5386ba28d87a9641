/**
 * @module the plugin's code run in ipamd (part of `npm run bench:cni`; not a test)
 * What ipamd spends on the plugin's own code when it runs a verb for the shim (ipamd/api/plugin-host.ts: the
 * envelope, validation, the netns probe, the in-process client's JSON round trip, the CNI result), measured by
 * calling runExec in this process with a handler that answers at once. The socket view of the breakdown holds it,
 * but as a difference of two medians it is too noisy to read this small a cost from.
 */
import { runExec } from '../../ipamd/api/plugin-host.js';
import type { Response } from '../../cni/contract/protocol.js';
import { sampleAllocation } from '../cni/fakes.js';
import { stats, type Stats } from './cni-report.js';

export async function measureHosted(netns: string, runs = 300): Promise<{ add: Stats; del: Stats }> {
  const stdin = JSON.stringify({ cniVersion: '1.1.0', name: 'vpc-net', type: 'vpc-ipam', mtu: 9001, logLevel: 'warn' });
  const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'bench-hosted', CNI_IFNAME: 'eth0', CNI_NETNS: netns };
  const added: Response = {
    ok: true,
    allocation: { ...sampleAllocation, hostIf: 'vpcx', hostMac: '0a:00:00:00:00:02' },
  };
  const one = async (cmd: 'ADD' | 'DEL', reply: Response): Promise<Stats> => {
    const ms: number[] = [];
    for (let i = 0; i < runs + 20; i++) {
      const t0 = performance.now();
      const r = await runExec({ v: 1, op: 'exec', env: { ...env, CNI_COMMAND: cmd }, stdin }, async () => reply);
      if (i >= 20) ms.push(performance.now() - t0); // 20 warm-up runs: the first loads and compiles the plugin
      if (r.exitCode !== 0) throw new Error(`hosted ${cmd} failed: ${r.stdout}`);
    }
    return stats(ms);
  };
  return { add: await one('ADD', added), del: await one('DEL', { ok: true, released: true }) };
}
