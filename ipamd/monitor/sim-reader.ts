/**
 * @module sim file reader
 * A read-only {@link SubnetReader} over the sim cloud file a sim-provider
 * daemon keeps (`<state dir>/sim-cloud.json`). The daemon owns the cloud
 * and saves it atomically after every change; another process (the cluster
 * monitor, `vpc-ipamctl subnets`) must see those changes, so this reader
 * loads the file afresh for every call instead of holding a copy. It never
 * writes the file.
 */
import { CloudNotFoundError } from '../../providers/errors.js';
import { loadSimCloud } from '../../providers/sim/persist.js';
import type { SimCloud } from '../../providers/sim/cloud.js';
import type { Subnet, SubnetAllocations, SubnetFilter } from '../../providers/types.js';
import type { SubnetReader } from './monitor.js';

export class SimFileReader implements SubnetReader {
  /** Reads made, by the EC2 action a real provider would call. */
  readonly calls: Record<string, number> = {};

  constructor(readonly file: string) {}

  private load(op: string): SimCloud {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
    const cloud = loadSimCloud(this.file);
    if (!cloud) {
      throw new CloudNotFoundError({
        provider: 'sim',
        operation: op,
        cloudCode: 'SimCloudMissing',
        message: `no sim cloud at ${this.file}: start vpc-ipamd with VPC_IPAM_PROVIDER=sim and this state dir first`,
      });
    }
    return cloud;
  }

  async listSubnets(filter: SubnetFilter = {}): Promise<Subnet[]> {
    return this.load('DescribeSubnets').describeSubnets(filter);
  }

  async describeSubnetAllocations(subnetId: string): Promise<SubnetAllocations> {
    return this.load('DescribeNetworkInterfaces').subnetAllocations(subnetId);
  }

  /** Subnets with their node ids, for tables: which instances have interfaces in each. */
  instancesBySubnet(): Map<string, string[]> {
    const cloud = this.load('DescribeInstances');
    const out = new Map<string, string[]>();
    for (const inst of cloud.describeInstances()) {
      for (const nic of inst.interfaces) {
        const l = out.get(nic.subnetId) ?? [];
        if (!l.includes(inst.id)) l.push(inst.id);
        out.set(nic.subnetId, l);
      }
    }
    return out;
  }
}
