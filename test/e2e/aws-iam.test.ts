/**
 * The IAM policies in docs/aws.md are exactly what the code needs: the
 * daemon and the leaked-ENI sweep run against an emulator that refuses every
 * action the policy does not list (tag-on-create needing CreateTags, as in
 * IAM), nothing is refused, and every listed action is used.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../ipamd/util/clock.js';
import { createEc2Client, EMULATOR_CREDENTIALS } from '../../providers/aws/ec2-client.js';
import type { AwsEmulator } from '../../providers/aws/emulator/server.js';
import { LeakedEniCollector } from '../../providers/aws/eni-gc.js';
import { TAG_CREATED_AT, TAG_INSTANCE_ID } from '../../providers/aws/tags.js';
import { CloudUnavailableError } from '../../providers/errors.js';
import { SimCloud } from '../../providers/sim/cloud.js';
import { REPO } from '../helpers/daemon-process.js';
import { awsDaemon, startEmulator, type AwsDaemon } from '../providers/aws/daemon-helpers.js';
import { until } from '../providers/aws/helpers.js';

/** The EC2 actions of the JSON policy that follows `<!-- iam:NAME -->` in docs/aws.md. */
function policyActions(name: string): Set<string> {
  const doc = readFileSync(path.join(REPO, 'docs/aws.md'), 'utf8');
  const at = doc.indexOf(`<!-- iam:${name} -->`);
  if (at < 0) throw new Error(`docs/aws.md has no iam:${name} policy`);
  const json = /```json\n([\s\S]*?)\n```/.exec(doc.slice(at))![1]!;
  const policy = JSON.parse(json) as { Statement: Array<{ Effect: string; Action: string[] }> };
  const out = new Set<string>();
  for (const s of policy.Statement) {
    expect(s.Effect).toBe('Allow');
    for (const a of s.Action) {
      expect(a).toMatch(/^ec2:[A-Za-z]+$/); // no wildcards
      out.add(a.slice(4));
    }
  }
  return out;
}

function used(emu: AwsEmulator): Set<string> {
  const out = new Set(emu.requests.map((r) => r.action));
  out.add('CreateTags'); // every CreateNetworkInterface tags at creation, which IAM authorises as CreateTags
  return out;
}

const running: AwsDaemon[] = [];
const emulators: AwsEmulator[] = [];
afterEach(async () => {
  for (const d of running.splice(0)) await d.stop();
  for (const e of emulators.splice(0)) await e.close();
});

describe('least-privilege IAM (docs/aws.md)', () => {
  it('the node policy lets ipamd do all it does, and lists nothing it does not do', async () => {
    const allowed = policyActions('node');
    const cloud = new SimCloud({ seed: 5, clock: { now: Date.now }, provider: 'aws' });
    // A type missing from the built-in table, so the DescribeInstanceTypes fallback runs too.
    cloud.defineInstanceType({ instanceType: 'z9.large', maxInterfaces: 3, ipv4PerInterface: 10, supportsIps: true, supportsPrefixes: true, prefixLength: 28, canCreateInterfaces: true });
    cloud.seedNode({ instanceType: 'z9.large', subnetCidr: '10.0.1.0/24', podSubnetCidr: '10.0.2.0/24' });
    const emu = await startEmulator({ cloud, allowedActions: allowed });
    emulators.push(emu);
    const d = await awsDaemon({ WARM_IP_TARGET: '2', MINIMUM_IP_TARGET: '4', CLUSTER_NAME: 'iam' }, { emu });
    running.push(d);
    // The first new ENI fails at DeleteOnTermination and is undone (Detach + Delete); the retry succeeds.
    emu.faults.failNext('ModifyNetworkInterfaceAttribute', 2, (a) => new CloudUnavailableError({ provider: 'aws', operation: a, cloudCode: 'InternalError', message: 'injected' }));
    for (let i = 0; i < 12; i++) await d.add(`p${i}`);
    await until('a second ENI', () => d.daemon.snapshot().interfaces.length === 2);
    for (let i = 0; i < 12; i++) await d.del(`p${i}`);
    await until('shrunk back', () => d.daemon.snapshot().total <= 6);
    await d.daemon.reconciler.resync();
    expect(emu.requests.filter((r) => r.code === 'UnauthorizedOperation')).toEqual([]);
    expect([...used(emu)].sort()).toEqual([...allowed].sort());
  });

  it('the sweep policy lets the leaked-ENI sweep mark and delete, and lists nothing it does not do', async () => {
    const allowed = policyActions('gc');
    const emu = await startEmulator({ allowedActions: allowed });
    emulators.push(emu);
    const subnetId = emu.cloud.describeSubnets()[0]!.id;
    const leaked = emu.cloud.createInterface({ subnetId, tags: { [TAG_INSTANCE_ID]: 'i-0gone', [TAG_CREATED_AT]: new Date(Date.now() - 3_600_000).toISOString() } });
    const ec2 = createEc2Client({ region: 'us-east-1', endpoint: emu.endpoint, credentials: EMULATOR_CREDENTIALS });
    const gc = new LeakedEniCollector({ ec2, clock: new SystemClock() });
    expect((await gc.runPass()).marked).toEqual([leaked.id]);
    expect((await gc.runPass()).deleted).toEqual([leaked.id]);
    ec2.destroy();
    expect(emu.requests.filter((r) => r.code === 'UnauthorizedOperation')).toEqual([]);
    expect(new Set(emu.requests.map((r) => r.action))).toEqual(allowed);
  });
});
