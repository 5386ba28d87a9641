/**
 * No interface is left behind by create → attach → DeleteOnTermination and
 * its undo on the sim cloud: a failure at any step (the FaultInjector), and a
 * crash right after any change the cloud saw (its state after every mutation
 * is what a SIGKILLed daemon leaves in sim-cloud.json), followed by a restart
 * of the node, end with no detached interface of ours and every address back.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../ipamd/util/clock.js';
import { TAG_CREATED_AT, TAG_INSTANCE_ID } from '../../../providers/interface-tags.js';
import { SimCloud } from '../../../providers/sim/cloud.js';
import { FaultInjector } from '../../../providers/sim/faults.js';
import { ZERO_LATENCY } from '../../../providers/sim/latency.js';
import { SimProvider } from '../../../providers/sim/sim-provider.js';
import type { CreateInterfaceRequest } from '../../../providers/types.js';
import { drive as driveDaemon, virtualNode } from '../../helpers/virtual-daemon.js';
import { drive, failure, node, POD_TAG, type NodeFixture } from './helpers.js';

/** Interfaces the cloud holds that are attached to nothing. */
const detached = (cloud: SimCloud) => cloud.describeInterfaces({ status: ['available'] });
const free = (cloud: SimCloud, subnetId: string) => cloud.getSubnet(subnetId).availableAddresses;
/** An interface with 6 addresses, as the one crash loops left on the sim cloud. */
const six = (subnetId: string): CreateInterfaceRequest => ({ subnetId, initial: { kind: 'ip', count: 5 } });

type Faults = (f: FaultInjector) => void;
/** Every step that can fail, alone and with the undo step after it failing too (three tries each). */
const SCENARIOS: Array<[string, Faults]> = [
  ['nothing fails', () => {}],
  ['the attach fails', (f) => f.failNext('AttachNetworkInterface')],
  [
    'the attach fails and so does the undo delete',
    (f) => f.failNext('AttachNetworkInterface').failNext('DeleteNetworkInterface', 3),
  ],
  ['DeleteOnTermination fails', (f) => f.failNext('ModifyNetworkInterfaceAttribute')],
  [
    'DeleteOnTermination fails and so does the undo detach',
    (f) => f.failNext('ModifyNetworkInterfaceAttribute').failNext('DetachNetworkInterface', 3),
  ],
  [
    'DeleteOnTermination fails and so does the undo delete',
    (f) => f.failNext('ModifyNetworkInterfaceAttribute').failNext('DeleteNetworkInterface', 3),
  ],
];

describe('sim createInterface: a failure at any step leaves nothing detached', () => {
  it('tags every interface with the instance and its creation time, in the create call', async () => {
    const { provider, clock, podSubnetId, instanceId } = node();
    const nic = await drive(clock, provider.createInterface({ subnetId: podSubnetId, tags: { team: 'net' } }));
    const createdAt = new Date(1_000_000).toISOString();
    expect(nic.tags).toEqual({ team: 'net', [TAG_INSTANCE_ID]: instanceId, [TAG_CREATED_AT]: createdAt });
  });

  it.each(SCENARIOS.slice(1))('%s: after the next reclaim nothing is detached', async (_n, faults) => {
    const n = node();
    const before = free(n.cloud, n.podSubnetId);
    faults(n.faults);
    const failed = await failure(drive(n.clock, n.provider.createInterface(six(n.podSubnetId))));
    expect(failed.code).toBe('CLOUD_UNAVAILABLE');
    await drive(n.clock, n.provider.reclaimLeakedInterfaces());
    expect(detached(n.cloud)).toEqual([]);
    // An undo whose detach failed leaves the interface attached: the node's, adopted by the pool at resync.
    const kept = n.cloud.getInstance(n.instanceId).interfaces.filter((x) => x.attachment?.deviceIndex !== 0);
    expect(free(n.cloud, n.podSubnetId)).toBe(before - kept.length * 6);
    const seen = (await drive(n.clock, n.provider.describeNode())).interfaces.map((x) => x.id);
    for (const k of kept) expect(seen).toContain(k.id);
  });

  it('a create whose answer was lost: its interface is deleted once older than the grace period', async () => {
    const clock = new VirtualClock(1_000_000);
    const cloud = new SimCloud({ seed: 7, clock });
    const seed = { instanceType: 'm5.large', subnetCidr: '10.0.1.0/24', podSubnetCidr: '10.0.2.0/24' };
    const instanceId = cloud.seedNode(seed);
    let failSave = false;
    const onMutate = () => {
      if (failSave) throw new Error('disk full');
    };
    const latency = ZERO_LATENCY;
    const provider = new SimProvider({ cloud, instanceId, clock, latency, leakGraceMs: 60_000, onMutate });
    const subnetId = cloud.describeSubnets({ tags: POD_TAG })[0]!.id;
    failSave = true; // the create happened in the cloud, but its caller never learns the id
    expect((await failure(drive(clock, provider.createInterface({ subnetId })))).code).toBe('CLOUD_UNAVAILABLE');
    failSave = false;
    expect(detached(cloud)).toHaveLength(1);
    // Young: this run's, and maybe still being attached. Old: lost.
    expect((await drive(clock, provider.reclaimLeakedInterfaces())).deleted).toEqual([]);
    await clock.advance(60_000);
    expect((await drive(clock, provider.reclaimLeakedInterfaces())).deleted).toHaveLength(1);
    expect(detached(cloud)).toEqual([]);
    provider.resetCallCounts();
    await drive(clock, provider.reclaimLeakedInterfaces());
    expect(provider.totalCalls()).toBe(0); // nothing due: a resync's reclaim costs no call
  });

  it('never touches the interface of a create in flight, nor anyone else’s', async () => {
    const slowAttach = { latency: { actions: { AttachNetworkInterface: 1000 } } };
    const { provider, clock, podSubnetId, cloud } = node({ provider: slowAttach });
    const othersTags = { [TAG_INSTANCE_ID]: 'i-0someoneelse', [TAG_CREATED_AT]: new Date(0).toISOString() };
    const foreign = cloud.createInterface({ subnetId: podSubnetId, tags: othersTags });
    const untagged = cloud.createInterface({ subnetId: podSubnetId });
    const creating = provider.createInterface({ subnetId: podSubnetId });
    await clock.runUntil(clock.now() + 800); // created, not attached yet
    expect(detached(cloud)).toHaveLength(3);
    expect((await drive(clock, provider.reclaimLeakedInterfaces())).deleted).toEqual([]);
    const nic = await drive(clock, creating);
    expect(cloud.getInterface(nic.id).attachment).toBeDefined();
    expect(
      detached(cloud)
        .map((x) => x.id)
        .sort(),
    ).toEqual([foreign.id, untagged.id].sort());
  });
});

describe('sim createInterface: a crash after any change, then a restart of the node', () => {
  it.each(SCENARIOS)('%s: the restarted node deletes what the crash left detached', async (_name, faults) => {
    // The dead run: a node fixture whose every cloud change is saved, as the daemon saves sim-cloud.json.
    const saved: unknown[] = [];
    const n: NodeFixture = node({ provider: { onMutate: () => saved.push(n.cloud.toJSON()) } });
    const podSubnet = n.podSubnetId;
    saved.push(n.cloud.toJSON());
    faults(n.faults);
    await drive(n.clock, n.provider.createInterface(six(podSubnet))).catch(() => {});
    expect(saved.length).toBeGreaterThanOrEqual(2); // before anything, and after the create at least
    const freeAtFirst = free(SimCloud.fromJSON(saved[0]), podSubnet);
    for (const [i, state] of saved.entries()) {
      const clock = new VirtualClock(1_700_000_000_000); // later than anything the dead run did
      const cloud = SimCloud.fromJSON(state, { clock });
      const restarted = await virtualNode({}, { cloud, clock });
      expect(detached(cloud), `crash after change ${i}`).toEqual([]);
      // Every address the cloud still holds in the Pod subnet is on an interface attached to the node.
      const held = cloud.getInstance(n.instanceId).interfaces.filter((x) => x.subnetId === podSubnet);
      const inUse = held.reduce((sum, x) => sum + 1 + x.privateIps.length, 0);
      expect(free(cloud, podSubnet), `crash after change ${i}`).toBe(freeAtFirst - inUse);
      await driveDaemon(clock, restarted.daemon.stop());
    }
  });

  it('a crash between create and attach: the detached 6-address interface is gone after the restart', async () => {
    const saved: unknown[] = [];
    const n: NodeFixture = node({
      provider: { onMutate: (a) => a === 'CreateNetworkInterface' && saved.push(n.cloud.toJSON()) },
    });
    const nic = await drive(n.clock, n.provider.createInterface(six(n.podSubnetId)));
    const clock = new VirtualClock(1_700_000_000_000);
    const cloud = SimCloud.fromJSON(saved[0], { clock });
    const left = cloud.getInterface(nic.id);
    expect(left).toMatchObject({ status: 'available', tags: { [TAG_INSTANCE_ID]: n.instanceId } });
    expect(1 + left.privateIps.length).toBe(6);
    const restarted = await virtualNode({}, { cloud, clock });
    expect(cloud.describeInterfaces().map((x) => x.id)).not.toContain(nic.id);
    expect(restarted.provider.callCounts().DeleteNetworkInterface).toBe(1);
    await driveDaemon(clock, restarted.daemon.stop());
  });
});
