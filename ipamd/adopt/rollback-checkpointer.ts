/**
 * @module rollback checkpointer
 * While adoption is on, aws-node must be able to come back at any moment and find every Pod: so each time our
 * checkpoint is durable, the same assignments (adopted and new) are written to the AWS CNI's checkpoint in its
 * own format (./aws-checkpoint.ts), under its network name, the way it writes it. A decorator over our
 * checkpointer, so no datastore code knows about it; ours is written first, because it is the truth.
 *
 * aws-node's restart check keeps an allocation only if a host veth ends with sha1("ns.pod")[:11]: new Pods pass it
 * only when their veths carry the AWS naming (AWS_VPC_K8S_CNI_VETHPREFIX set; docs/install.md, migration).
 */
import type { CheckpointData, Checkpointer } from '../datastore/checkpoint.js';
import type { Assignment } from '../datastore/types.js';
import { AWS_NETWORK_NAME, writeAwsCheckpoint, type AwsAllocation } from './aws-checkpoint.js';

const NS_PER_MS = 1_000_000;

/** One of our assignments as the AWS CNI records it (`CheckpointEntry`). */
export function toAwsAllocation(a: Assignment): AwsAllocation {
  const metadata: AwsAllocation['metadata'] = {};
  if (a.pod.namespace) metadata.k8sPodNamespace = a.pod.namespace;
  if (a.pod.name) metadata.k8sPodName = a.pod.name;
  metadata.interfacesCount = 1;
  return {
    networkName: AWS_NETWORK_NAME,
    containerID: a.containerId,
    ifName: a.ifName,
    ipv4: a.ip,
    allocationTimestamp: a.assignedAt * NS_PER_MS,
    metadata,
  };
}

export class RollbackCheckpointer implements Checkpointer {
  /** AWS file writes, one at a time and in the order our writes completed (they share a temp name). */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly inner: Checkpointer,
    /** The AWS CNI's checkpoint file. */
    readonly awsFile: string,
    private readonly write: typeof writeAwsCheckpoint = writeAwsCheckpoint,
  ) {}

  get location(): string | undefined {
    return this.inner.location;
  }

  load(): Promise<CheckpointData | undefined> {
    return this.inner.load();
  }

  async save(read: () => CheckpointData): Promise<void> {
    let latest: CheckpointData | undefined;
    await this.inner.save(() => (latest = read()));
    // Group-committed: `latest` is what reached disk; undefined when another caller's write carried ours.
    const data = latest ?? read();
    const p = this.chain.then(() => this.write(this.awsFile, data.assignments.map(toAwsAllocation)));
    this.chain = p.catch(() => {});
    await p;
  }

  removeStaleTemps(): Promise<string[]> {
    return this.inner.removeStaleTemps?.() ?? Promise.resolve([]);
  }

  probe(): Promise<void> {
    return this.inner.probe?.() ?? Promise.resolve();
  }
}
