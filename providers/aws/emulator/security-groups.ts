/**
 * @module ec2 security groups
 * The security groups an interface may name, checked as EC2 checks them on
 * CreateNetworkInterface and ModifyNetworkInterfaceAttribute. The sim keeps
 * groups as bare ids, so the ones that exist are those the account has in
 * use (each VPC's default group, the groups of instances and interfaces,
 * which belong to that VPC) plus any a test defines with {@link
 * SecurityGroups.define}. Shared by every emulator of an account.
 *
 * EC2's answers, each with where its wording comes from:
 * - unknown: 400 `InvalidGroup.NotFound` "The security group 'sg-…' does not
 *   exist" (aws/aws-sdk-java#202, mitchellh/vagrant-aws#468);
 * - another VPC's group: 400 `InvalidParameter` "Security group sg-… and
 *   subnet subnet-… belong to different networks." (EC2's RunInstances answer
 *   in QT-DevOps/DevOpsIssues#256 and philschmid/efsync#16; assumed the same for
 *   an interface);
 * - more than the quota, 5 by default ("Security groups per network interface",
 *   Amazon VPC quotas; adjustable up to 16): Modify answers 400
 *   `SecurityGroupsPerInterfaceLimitExceeded` "The maximum number of security
 *   groups per interface has been reached." (kubernetes-sigs/aws-load-balancer-controller#682),
 *   Create answers 400 `InvalidParameterValue` "user <account> exceeded limit 5
 *   on the number of interface security group memberships"
 *   (aws/amazon-vpc-resource-controller-k8s#583).
 */
import type { SimCloud } from '../../sim/cloud.js';
import { QueryError } from './query.js';
import { EMULATOR_ACCOUNT_ID } from './render.js';

/** EC2's default quota of security groups per network interface. */
export const DEFAULT_GROUPS_PER_INTERFACE = 5;

export class SecurityGroups {
  private readonly defined = new Map<string, string>();

  constructor(private readonly cloud: SimCloud) {}

  /** Makes `groupId` exist in `vpcId` (as CreateSecurityGroup would). */
  define(groupId: string, vpcId: string): void {
    this.cloud.getVpc(vpcId); // throws for an unknown VPC
    this.defined.set(groupId, vpcId);
  }

  /** The VPC a group belongs to, undefined when the account has no such group. */
  vpcOf(groupId: string): string | undefined {
    const own = this.defined.get(groupId);
    if (own) return own;
    const c = this.cloud;
    const vpc = c.describeVpcs().find((v) => v.defaultSecurityGroup === groupId);
    if (vpc) return vpc.id;
    const inst = c.describeInstances().find((i) => i.securityGroups.includes(groupId));
    if (inst) return inst.vpcId;
    return c.describeInterfaces().find((n) => n.securityGroups.includes(groupId))?.vpcId;
  }

  /**
   * Throws EC2's answer when `groups` cannot go on an interface of `subnetId`: an unknown group, one of
   * another VPC, or more than `limit`. `action` picks the over-limit wording (see the module comment).
   */
  check(action: string, subnetId: string, groups: string[], limit = DEFAULT_GROUPS_PER_INTERFACE): void {
    const subnet = this.cloud.getSubnet(subnetId);
    const unique = [...new Set(groups)];
    if (unique.length > limit) {
      if (action === 'CreateNetworkInterface') {
        const who = `user ${EMULATOR_ACCOUNT_ID}`;
        const text = `${who} exceeded limit ${limit} on the number of interface security group memberships`;
        throw new QueryError('InvalidParameterValue', text);
      }
      const text = 'The maximum number of security groups per interface has been reached.';
      throw new QueryError('SecurityGroupsPerInterfaceLimitExceeded', text);
    }
    for (const g of unique) {
      const vpc = this.vpcOf(g);
      if (vpc === undefined) throw new QueryError('InvalidGroup.NotFound', `The security group '${g}' does not exist`);
      if (vpc !== subnet.vpcId) {
        const text = `Security group ${g} and subnet ${subnetId} belong to different networks.`;
        throw new QueryError('InvalidParameter', text);
      }
    }
  }
}
