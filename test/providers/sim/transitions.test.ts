/**
 * Attach and detach that take time (what the strict EC2 emulator asks the sim for): `attaching` and
 * `detaching` hold the device index and refuse a delete until `settle` runs at or after their time; they
 * are saved with the cloud; without a time everything is immediate, as before.
 */
import { describe, expect, it } from 'vitest';
import { SimCloud } from '../../../providers/sim/cloud.js';
import { syncFailure } from './helpers.js';

function seeded() {
  const cloud = new SimCloud({ seed: 3 });
  const instanceId = cloud.seedNode({ instanceType: 'm5.large', subnetCidr: '10.0.1.0/24' });
  const subnetId = cloud.getInstance(instanceId).subnetId;
  return { cloud, instanceId, subnetId };
}

describe('timed attach and detach', () => {
  it('attaching → attached and detaching → available at their settle time; delete refused until then', () => {
    const { cloud, instanceId, subnetId } = seeded();
    const nic = cloud.createInterface({ subnetId });
    const attached = cloud.attachInterface(nic.id, instanceId, 1, { settlesAt: 2_000 });
    expect(attached).toMatchObject({ state: 'attaching', settlesAt: 2_000 });
    expect(cloud.getInterface(nic.id).status).toBe('in-use');
    const inUse = { code: 'CLOUD_INVALID', cloudCode: 'InvalidParameterValue' };
    expect(syncFailure(() => cloud.deleteInterface(nic.id))).toEqual(inUse);
    expect(cloud.settle(1_999)).toBeUndefined();
    const rev = cloud.revision;
    expect(cloud.settle(2_500)).toBe(2_000); // when it took effect, not when it was noticed
    expect(cloud.revision).toBe(rev + 1);
    expect(cloud.getInterface(nic.id).attachment).not.toHaveProperty('state');

    cloud.detachInterface(nic.id, { settlesAt: 5_000 });
    cloud.detachInterface(nic.id, { settlesAt: 9_000 }); // already detaching: the first detach stands
    expect(cloud.getInterface(nic.id).attachment).toMatchObject({ state: 'detaching', settlesAt: 5_000 });
    expect(() => cloud.deleteInterface(nic.id)).toThrow(`Network interface '${nic.id}' is currently in use.`);
    const other = cloud.createInterface({ subnetId });
    const taken = syncFailure(() => cloud.attachInterface(other.id, instanceId, 1)); // the index is still held
    expect(taken.cloudCode).toBe('InvalidParameterValue');
    expect(cloud.settle(5_000)).toBe(5_000);
    expect(cloud.getInterface(nic.id)).toMatchObject({ status: 'available' });
    expect(cloud.getInterface(nic.id).attachment).toBeUndefined();
    cloud.deleteInterface(nic.id);
    expect(cloud.settle(99_999)).toBeUndefined(); // nothing pending: no revision
  });

  it('is saved with the cloud and settles after a reload; untimed attach and detach stay immediate', () => {
    const { cloud, instanceId, subnetId } = seeded();
    const nic = cloud.createInterface({ subnetId });
    cloud.attachInterface(nic.id, instanceId, 1, { settlesAt: 100 });
    const loaded = SimCloud.fromJSON(JSON.parse(JSON.stringify(cloud.toJSON())));
    expect(loaded.getInterface(nic.id).attachment).toMatchObject({ state: 'attaching', settlesAt: 100 });
    expect(loaded.settle(100)).toBe(100);
    const bad = structuredClone(cloud.toJSON());
    delete bad.interfaces.find((n) => n.id === nic.id)!.attachment!.settlesAt;
    expect(() => SimCloud.fromJSON(bad)).toThrow(/settlesAt/);

    const plain = cloud.createInterface({ subnetId });
    expect(cloud.attachInterface(plain.id, instanceId, 2)).not.toHaveProperty('state');
    cloud.detachInterface(plain.id);
    expect(cloud.getInterface(plain.id).status).toBe('available');
  });
});
