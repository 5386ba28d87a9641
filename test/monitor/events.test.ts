/**
 * "Pool cannot grow" becomes an event with the cloud's reason and a node
 * condition, through the daemon's EventSink; the all-clear follows once the
 * pool is back at its target. Daemon core on a virtual clock, sim cloud.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../ipamd/config.js';
import { IpamDaemon } from '../../ipamd/daemon.js';
import { MemoryCheckpointer } from '../../ipamd/datastore/checkpoint.js';
import { GROWTH_BLOCKED_CONDITION, LoggingEventSink, MemoryEventSink } from '../../ipamd/monitor/events.js';
import { NoopPlumber } from '../../ipamd/netns/plumber.js';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { VirtualClock } from '../../ipamd/util/clock.js';
import { SimCloud } from '../../providers/sim/cloud.js';
import { ZERO_LATENCY } from '../../providers/sim/latency.js';
import { SimProvider } from '../../providers/sim/sim-provider.js';
import { drive } from '../helpers/virtual-daemon.js';

async function node(
  env: Record<string, string>,
  subnetCidr: string,
  crowd: (cloud: SimCloud, subnetId: string) => string[],
) {
  const clock = new VirtualClock(1_700_000_000_000);
  const cloud = new SimCloud({ seed: 5, clock });
  const instanceId = cloud.seedNode({ instanceType: 'm5.large', subnetCidr });
  const subnetId = cloud.getInstance(instanceId).interfaces[0]!.subnetId;
  const reservations = crowd(cloud, subnetId);
  const sink = new MemoryEventSink();
  const daemon = new IpamDaemon({
    config: parseConfig({ VPC_IPAM_SUBNET_FULL_BACKOFF_SECONDS: '60', ...env }),
    clock,
    provider: new SimProvider({ cloud, instanceId, clock, latency: ZERO_LATENCY }),
    checkpointer: new MemoryCheckpointer(),
    plumber: new NoopPlumber(),
    log: silentLogger(),
    version: 'test',
    random: () => 0.5,
    eventSink: sink,
    nodeName: () => 'node-a',
  });
  await drive(clock, daemon.init());
  await drive(clock, daemon.startLoop());
  return { clock, cloud, subnetId, reservations, sink, daemon };
}

describe('growth-blocked events', () => {
  it('reports a full subnet with the cloud code and a True condition, then the all-clear', async () => {
    // /27: 27 usable, 1 primary; others hold 24, so 2 are left and a 9-IP warm pool cannot be had.
    const n = await node({}, '10.0.0.0/27', (cloud, id) => cloud.occupyRandom(id, 24).map((r) => r.id));
    const [blocked] = n.sink.events;
    expect(blocked).toMatchObject({
      type: 'Warning',
      reason: 'PoolGrowthBlocked',
      node: 'node-a',
      subnetId: n.subnetId,
      cloudCode: 'InsufficientFreeAddressesInSubnet',
      condition: { type: GROWTH_BLOCKED_CONDITION, status: 'True', reason: 'SubnetFull' },
    });
    expect(blocked!.message).toContain(`in subnet ${n.subnetId}`);
    expect(blocked!.message).toContain('InsufficientFreeAddressesInSubnet');
    expect(blocked!.until).toBe(blocked!.at + 60_000);

    // Others leave; after the backoff the pool grows to its target and the condition clears.
    for (const r of n.reservations) n.cloud.releaseReservation(r);
    await n.clock.advance(70_000);
    const cleared = n.sink.events.find((e) => e.type === 'Normal');
    expect(cleared).toMatchObject({
      reason: 'PoolGrowthResumed',
      node: 'node-a',
      subnetId: n.subnetId,
      condition: { type: GROWTH_BLOCKED_CONDITION, status: 'False', reason: 'GrowthResumed' },
    });
    expect(n.daemon.snapshot().available).toBe(9);
    // One warning per refusal, one all-clear: no flapping while nothing changes.
    await n.clock.advance(300_000);
    expect(n.sink.events.filter((e) => e.type === 'Normal')).toHaveLength(1);
    await n.daemon.stop();
  });

  it('reports "no /28" in prefix mode although addresses are free', async () => {
    const n = await node({ ENABLE_PREFIX_DELEGATION: 'true' }, '10.0.4.0/24', (cloud, id) => {
      const out: string[] = [];
      // One /32 in each /28 that the node's primary did not already break.
      for (let k = 1; k <= 14; k++) {
        try {
          out.push(cloud.reserveCidr(id, `10.0.4.${k * 16 + 7}/32`).id);
        } catch {
          // the primary took this one
        }
      }
      return out;
    });
    expect(n.cloud.freePrefixBlocks(n.subnetId)).toBe(0);
    expect(n.cloud.getSubnet(n.subnetId).availableAddresses).toBeGreaterThan(200);
    expect(n.sink.events[0]).toMatchObject({
      type: 'Warning',
      cloudCode: 'InsufficientCidrBlocks',
      condition: { status: 'True', reason: 'NoPrefixBlock' },
    });
    await n.daemon.stop();
  });

  it('the default sink writes the event to the log', async () => {
    const lines: Array<{ level: string; o: object; m?: string }> = [];
    const sink = new LoggingEventSink({
      warn: (o, m) => lines.push({ level: 'warn', o, m }),
      info: (o, m) => lines.push({ level: 'info', o, m }),
    });
    await sink.emit({
      type: 'Warning',
      reason: 'PoolGrowthBlocked',
      message: 'IP pool cannot grow: x',
      node: 'n',
      at: 1,
    });
    expect(lines).toEqual([
      {
        level: 'warn',
        o: { event: { type: 'Warning', reason: 'PoolGrowthBlocked', node: 'n', at: 1 } },
        m: 'IP pool cannot grow: x',
      },
    ]);
  });
});
