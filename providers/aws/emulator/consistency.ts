/**
 * @module ec2 eventual consistency
 * EC2 is eventually consistent: "if you run a command to modify or describe
 * the resource that you just created, its ID might not have propagated
 * throughout the system, and you will get an error responding that the
 * resource does not exist" (AWS, "Eventual consistency in the Amazon EC2
 * API"). For `windowMs` after a Create, Assign or Attach on an ENI, each call
 * naming that ENI by id is answered `InvalidNetworkInterfaceID.NotFound`
 * with probability `ratio`, before it changes anything. The dice are seeded,
 * so a run replays the same answers. Filtered Describes are not affected,
 * nor are attachment ids (DetachNetworkInterface): not modelled yet.
 */
import type { CloudError } from '../../errors.js';
import type { SimCloud } from '../../sim/cloud.js';
import { Prng } from '../../sim/prng.js';
import type { QueryParams } from './query.js';

/** The ENI ids each action names by id (cloud-apis.md §1.2 wire names). */
const NAMED_ENIS: Readonly<Record<string, (p: QueryParams) => string[]>> = {
  DescribeNetworkInterfaces: (p) => p.list('NetworkInterfaceId'),
  AttachNetworkInterface: (p) => [p.str('NetworkInterfaceId') ?? ''],
  DeleteNetworkInterface: (p) => [p.str('NetworkInterfaceId') ?? ''],
  ModifyNetworkInterfaceAttribute: (p) => [p.str('NetworkInterfaceId') ?? ''],
  AssignPrivateIpAddresses: (p) => [p.str('NetworkInterfaceId') ?? ''],
  UnassignPrivateIpAddresses: (p) => [p.str('NetworkInterfaceId') ?? ''],
  CreateTags: (p) => p.list('ResourceId'),
  DeleteTags: (p) => p.list('ResourceId'),
};

export class ConsistencyWindow {
  /** ENI id → emulator time until which it may still be unseen. */
  private readonly fresh = new Map<string, number>();
  private readonly prng: Prng;

  constructor(
    private readonly now: () => number,
    seed: number,
    private windowMs: number,
    private ratio: number,
  ) {
    this.prng = new Prng(seed);
  }

  configure(windowMs: number, ratio: number): void {
    if (!(windowMs >= 0) || !(ratio >= 0 && ratio <= 1)) {
      throw new RangeError(`need windowMs >= 0 and 0 <= ratio <= 1, got ${windowMs}, ${ratio}`);
    }
    this.windowMs = windowMs;
    this.ratio = ratio;
  }

  /** A Create, Assign or Attach on `eniId` succeeded just now. */
  changed(eniId: string): void {
    if (this.windowMs > 0) this.fresh.set(eniId, this.now() + this.windowMs);
  }

  /** Throws EC2's NotFound when the request names a still-propagating ENI and the dice say so. */
  check(cloud: SimCloud, action: string, p: QueryParams): void {
    const named = NAMED_ENIS[action];
    if (!named || this.fresh.size === 0) return;
    const now = this.now();
    for (const [id, until] of this.fresh) if (until <= now) this.fresh.delete(id);
    const unseen = named(p).find((id) => this.fresh.has(id));
    if (unseen === undefined || this.prng.next() >= this.ratio) return;
    throw notFound(cloud, action, unseen);
  }
}

function notFound(cloud: SimCloud, action: string, id: string): CloudError {
  return cloud.makeError('interfaceNotFound', action, `The networkInterface ID '${id}' does not exist`);
}
