/**
 * The shared CloudProvider contract (test/providers/contract.ts), run on the
 * sim provider and on the AWS provider over its emulator, as strict as the
 * emulate mode (asynchronous attach/detach, eventual consistency, IMDS lag,
 * both "no room" wordings, token buckets, group checks; on a JumpClock): the
 * same expectations hold for both. Each strict behaviour has its own contract
 * test in strict-emulator.test.ts.
 */
import { SystemClock } from '../../../ipamd/util/clock.js';
import { SimProvider, ZERO_LATENCY } from '../../../providers/sim/index.js';
import { runProviderContract } from '../contract.js';
import { awsNode, seedCloud } from './helpers.js';

runProviderContract('sim', async () => {
  const { cloud, instanceId } = seedCloud();
  const provider = new SimProvider({ cloud, instanceId, clock: new SystemClock(), latency: ZERO_LATENCY });
  const subnetId = cloud.describeSubnets({ tags: { 'kubernetes.io/role/cni': '1' } })[0]!.id;
  return { provider, subnetId, close: async () => {} };
});

runProviderContract('aws (strict EC2 + IMDSv2 emulator, emulate defaults)', async () => {
  const n = await awsNode();
  return { provider: n.provider, subnetId: n.podSubnetId, close: n.close };
});
