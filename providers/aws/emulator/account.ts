/**
 * @module ec2 account
 * What EC2 keeps per account and region rather than per caller: the request
 * token buckets (throttle.ts), the client tokens (idempotency.ts) and the
 * security groups (security-groups.ts). One emulator answers for one
 * instance, so a cluster is many emulators over one {@link SimCloud}; they
 * share its account, found through {@link Ec2Account.of}, and 20 nodes
 * therefore draw on the same buckets, as 20 nodes of one account do.
 *
 * The first emulator to use a cloud's account gives it its clock (buckets
 * refill on it): emulators over one cloud are meant to share one clock.
 */
import type { SimCloud } from '../../sim/cloud.js';
import type { TimeSource } from '../../sim/time.js';
import { ClientTokens } from './idempotency.js';
import { SecurityGroups } from './security-groups.js';
import { RequestBuckets } from './throttle.js';

const accounts = new WeakMap<SimCloud, Ec2Account>();

export class Ec2Account {
  readonly buckets: RequestBuckets;
  readonly clientTokens = new ClientTokens();
  readonly groups: SecurityGroups;

  private constructor(cloud: SimCloud, clock: TimeSource) {
    this.buckets = new RequestBuckets(clock);
    this.groups = new SecurityGroups(cloud);
  }

  /** The account behind `cloud`, made on first use with `clock`. */
  static of(cloud: SimCloud, clock: TimeSource): Ec2Account {
    let a = accounts.get(cloud);
    if (!a) {
      a = new Ec2Account(cloud, clock);
      accounts.set(cloud, a);
    }
    return a;
  }
}
