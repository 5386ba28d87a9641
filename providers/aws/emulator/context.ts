/**
 * @module ec2 action context
 * What an EC2 action handler gets besides its parameters: the shared sim
 * cloud (the one truth behind EC2 and IMDS), its account (client tokens,
 * security groups, request buckets), the emulator's realism knobs and clock,
 * and the hooks through which a handler reports what it changed and how to
 * word "no room".
 */
import type { SimCloud } from '../../sim/cloud.js';
import type { Ec2Account } from './account.js';
import type { Ec2Realism } from './realism.js';

/** EC2's generic wording of "no room", for /32s and prefixes alike (see realism.ts `CapacityWording`). */
export const CAPACITY_SHORTAGE_MESSAGE = "There aren't sufficient free Ipv4 addresses or prefixes";

export interface ActionContext {
  cloud: SimCloud;
  /** Shared by every emulator over `cloud`, as EC2 keeps these per account. */
  account: Ec2Account;
  realism: Ec2Realism;
  /** Emulator time, ms: what attach/detach delays count from. */
  now(): number;
  /** A Create, Assign or Attach on this ENI succeeded (opens its eventual-consistency window). */
  changed(eniId: string): void;
  /** A uniform draw in [0, 1) from the emulator's seeded dice (for `mixed` wording). */
  dice(): number;
}
