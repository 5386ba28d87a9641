/**
 * @module leaked ENI sweep
 * Deletes ENIs ipamd created that were left detached: a node that died
 * between CreateNetworkInterface and the DeleteOnTermination change, or an
 * undo that could not finish (aws-vpc-cni.md §3.10, amazon-vpc-cni-k8s#69).
 *
 * Run from ONE place: the cluster-wide monitor's leader calls
 * {@link LeakedEniCollector.runPass} on a timer, and operators can run
 * `vpc-ipamctl gc-enis`. Not from every node: the VPC CNI sweeps from every
 * node every hour, which multiplies DescribeNetworkInterfaces by the node
 * count (#2360, and #3719 for what per-node Describe* storms cost).
 *
 * Two passes, so a single odd read never deletes anything: a pass lists
 * detached (`status=available`) ENIs carrying our instance tag, in the VPC
 * (and cluster, if named). An ENI younger than the grace period (from its
 * creation tag; an ENI without one is tagged now and waits a full period)
 * is left alone. An older one is marked with a tag in this pass and deleted
 * in a later pass if it is still detached and still marked. The mark lives
 * on the ENI itself, so passes can come from different leaders or from the
 * command line. One pass costs one paginated Describe, at most one CreateTags
 * for all new marks, and one Delete per doomed ENI.
 *
 * Never touched, whatever their tags and age: trunk and EFA ENIs and those
 * tagged `node.k8s.amazonaws.com/no_manage=true` (eni-exclusion.ts): an
 * operator's mark must hold in every path that deletes. (The VPC CNI's
 * `getLeakedENIs` filters on its tag and description only.)
 */
import { CreateTagsCommand, DeleteNetworkInterfaceCommand, type EC2Client, type Filter } from '@aws-sdk/client-ec2';
import type { Clock } from '../clock.js';
import { CloudError } from '../errors.js';
import { tagMap } from './convert.js';
import { Ec2Api } from './ec2-api.js';
import { exclusionReason } from './eni-exclusion.js';
import { TAG_CLUSTER, TAG_CREATED_AT, TAG_GC_MARKED_AT, TAG_INSTANCE_ID } from './tags.js';

export interface LeakedEniGcOptions {
  ec2: EC2Client | Ec2Api;
  clock: Clock;
  /** Detached ENIs younger than this are never touched (default 5 min, the VPC CNI's). */
  graceMs?: number;
  /** Only this VPC (recommended). */
  vpcId?: string;
  /** Only ENIs tagged with this CLUSTER_NAME. */
  clusterName?: string;
  /** Report what would happen without tagging or deleting anything. */
  dryRun?: boolean;
  log?: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
}

export interface GcPassReport {
  /** Detached ENIs with our tag that were examined. */
  scanned: number;
  /** ENIs marked in this pass (deleted by the next one if still detached). */
  marked: string[];
  deleted: string[];
  /** Too young, or given a creation tag now. */
  young: string[];
  /** Delete failed (still in use, throttled…); retried next pass. */
  failed: Array<{ id: string; code: string }>;
  /** Left alone whatever their age: trunk or EFA, or tagged `node.k8s.amazonaws.com/no_manage=true`. */
  excluded: Array<{ id: string; reason: string }>;
}

export const DEFAULT_GC_GRACE_MS = 5 * 60_000;

export class LeakedEniCollector {
  private readonly api: Ec2Api;

  constructor(private readonly o: LeakedEniGcOptions) {
    this.api = o.ec2 instanceof Ec2Api ? o.ec2 : new Ec2Api(o.ec2);
  }

  /** One pass: see the module comment. */
  async runPass(): Promise<GcPassReport> {
    const { clock } = this.o;
    const grace = this.o.graceMs ?? DEFAULT_GC_GRACE_MS;
    const started = clock.now();
    const stamp = new Date(started).toISOString();
    const Filters: Filter[] = [
      { Name: 'tag-key', Values: [TAG_INSTANCE_ID] },
      { Name: 'status', Values: ['available'] },
    ];
    if (this.o.vpcId) Filters.push({ Name: 'vpc-id', Values: [this.o.vpcId] });
    if (this.o.clusterName) Filters.push({ Name: `tag:${TAG_CLUSTER}`, Values: [this.o.clusterName] });
    const nics = await this.api.describeInterfaces({ Filters });
    const report: GcPassReport = { scanned: nics.length, marked: [], deleted: [], young: [], failed: [], excluded: [] };
    const untaggedAge: string[] = [];
    const toMark: string[] = [];
    for (const n of nics) {
      const id = n.NetworkInterfaceId;
      if (!id || n.Status !== 'available' || n.Attachment?.AttachmentId) continue;
      // Before any tag is read or written: an excluded ENI is neither marked nor deleted, even with our tag.
      const reason = exclusionReason(n);
      if (reason) {
        report.excluded.push({ id, reason });
        continue;
      }
      const tags = tagMap(n.TagSet);
      const created = Date.parse(tags[TAG_CREATED_AT] ?? '');
      if (!Number.isFinite(created)) {
        untaggedAge.push(id);
        report.young.push(id);
        continue;
      }
      if (started - created < grace) {
        report.young.push(id);
        continue;
      }
      const marked = Date.parse(tags[TAG_GC_MARKED_AT] ?? '');
      if (Number.isFinite(marked) && marked < started) {
        await this.delete(id, report);
      } else {
        toMark.push(id);
      }
    }
    let marked = toMark;
    if (!this.o.dryRun) {
      if (untaggedAge.length) await this.tag(untaggedAge, TAG_CREATED_AT, stamp);
      if (toMark.length) marked = await this.tag(toMark, TAG_GC_MARKED_AT, stamp);
    }
    report.marked.push(...marked);
    this.o.log?.info({ ...report, dryRun: this.o.dryRun ?? false }, 'leaked-ENI sweep pass');
    return report;
  }

  /** Runs a pass every `intervalMs` until `signal` aborts; a failed pass is logged and retried next time. */
  async run(intervalMs: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.runPass().catch((err: unknown) =>
        this.o.log?.warn({ err: (err as Error).message }, 'leaked-ENI sweep pass failed'),
      );
      await this.o.clock.sleep(intervalMs, signal).catch(() => {});
    }
  }

  /**
   * Tags `ids` in one call, and returns those tagged. EC2 refuses the whole call when one id no longer exists
   * (someone deleted it since the Describe): the pass then tags the others one by one, skipping the gone ones,
   * instead of losing its work. These are ENIs past the grace period, so a NotFound is not EC2 lagging behind
   * a fresh create.
   */
  private async tag(ids: string[], key: string, value: string): Promise<string[]> {
    const send = (Resources: string[]) =>
      this.api.call('CreateTags', (c) =>
        c.send(new CreateTagsCommand({ Resources, Tags: [{ Key: key, Value: value }] })),
      );
    const gone = (err: unknown) => CloudError.isCloud(err) && err.code === 'CLOUD_NOT_FOUND';
    try {
      await send(ids);
      return ids;
    } catch (err) {
      if (!gone(err)) throw err;
    }
    const tagged: string[] = [];
    for (const id of ids) {
      try {
        await send([id]);
        tagged.push(id);
      } catch (err) {
        if (!gone(err)) throw err;
      }
    }
    return tagged;
  }

  private async delete(id: string, report: GcPassReport): Promise<void> {
    if (this.o.dryRun) {
      report.deleted.push(id);
      return;
    }
    try {
      await this.api.call('DeleteNetworkInterface', (c) =>
        c.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id })),
      );
      report.deleted.push(id);
    } catch (err) {
      if (CloudError.isCloud(err) && err.code === 'CLOUD_NOT_FOUND') report.deleted.push(id);
      else report.failed.push({ id, code: CloudError.isCloud(err) ? err.cloudCode : 'INTERNAL' });
    }
  }
}
