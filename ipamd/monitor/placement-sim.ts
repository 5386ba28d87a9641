/**
 * @module placement simulation
 * Plays out node launches in one subnet on the sim cloud, with EC2's random
 * address choice, until the cloud refuses: how many nodes really fit in
 * prefix mode, and how many addresses are stranded (free, but in no whole
 * /28) when the first InsufficientCidrBlocks comes. Deterministic per seed.
 *
 * Each node is what a fresh ipamd would build for `footprint`: an instance
 * (its primary /32 in the subnet), prefixes on the primary interface, then
 * more interfaces (each another random /32) with the rest.
 */
import { IpamError, CloudError } from '../../providers/errors.js';
import { SimCloud } from '../../providers/sim/cloud.js';
import type { NodeFootprint } from './node-footprint.js';
import { analyzeSubnet, type SubnetSpace } from './subnet-space.js';

export interface PlacementInput {
  subnetCidr: string;
  instanceType: string;
  mode: 'ip' | 'prefix';
  /** Blocks per node (prefixes or IPs) and interfaces, from the footprint at the target Pod count. */
  footprint: Pick<NodeFootprint, 'blocks' | 'interfaces' | 'pods'>;
  slotsPerInterface: number;
  seed: number;
  /** Stop after this many nodes even if more would fit. */
  maxNodes: number;
}

export interface PlacementResult {
  nodes: number;
  pods: number;
  /** The refusal that ended the run; undefined when maxNodes was reached. */
  stoppedBy?: { code: string; cloudCode: string; message: string };
  /** The subnet when the run ended (free addresses, free /28s, fragmentation). */
  end: SubnetSpace;
}

export function simulatePlacement(p: PlacementInput): PlacementResult {
  const cloud = new SimCloud({ seed: p.seed });
  const vpc = cloud.createVpc({ cidr: p.subnetCidr });
  const subnetId = cloud.createSubnet({ vpcId: vpc.id, cidr: p.subnetCidr, zone: 'plan-1a' }).id;
  let nodes = 0;
  let stoppedBy: PlacementResult['stoppedBy'];
  while (nodes < p.maxNodes) {
    const launched: string[] = [];
    try {
      const inst = cloud.createInstance({ instanceType: p.instanceType, subnetId });
      launched.push(inst.id);
      let left = p.footprint.blocks;
      let nic = inst.interfaces[0]!.id;
      for (let k = 0; k < p.footprint.interfaces && left > 0; k++) {
        if (k > 0) {
          nic = cloud.createInterface({ subnetId }).id;
          cloud.attachInterface(nic, inst.id);
        }
        const count = Math.min(left, p.slotsPerInterface);
        if (p.mode === 'prefix') cloud.assignPrefixes(nic, { count });
        else cloud.assignPrivateIps(nic, { count });
        left -= count;
      }
      nodes++;
    } catch (err) {
      if (!IpamError.is(err)) throw err;
      // A node that could not get its pool does not count; its partial pool stays, as it would in EC2.
      stoppedBy = {
        code: err.code,
        cloudCode: CloudError.isCloud(err) ? err.cloudCode : err.code,
        message: err.message,
      };
      break;
    }
  }
  const a = cloud.subnetAllocations(subnetId);
  return {
    nodes,
    pods: nodes * p.footprint.pods,
    ...(stoppedBy ? { stoppedBy } : {}),
    end: analyzeSubnet(p.subnetCidr, a.used, { reserved: { first: 4, last: 1 }, prefixLength: 28 }),
  };
}
