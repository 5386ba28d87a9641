/**
 * @module aws instance limits
 * An instance type's interface and address limits: from the generated table (providers/limits/ec2-limits.json)
 * when the type is in it, else from one DescribeInstanceTypes per type, cached for the process. Either way the
 * answer is the cloud-neutral {@link InstanceLimits}, without the table's AWS-only columns.
 */
import { DescribeInstanceTypesCommand } from '@aws-sdk/client-ec2';
import { InvalidCloudRequestError } from '../errors.js';
import { lookupEc2Limits } from '../limits/ec2-limits.js';
import type { InstanceLimits } from '../types.js';
import { toInstanceLimits } from './convert.js';
import type { Ec2Api } from './ec2-api.js';

function neutral(l: InstanceLimits): InstanceLimits {
  const { instanceType, maxInterfaces, ipv4PerInterface, supportsIps, supportsPrefixes, prefixLength } = l;
  return {
    instanceType,
    maxInterfaces,
    ipv4PerInterface,
    supportsIps,
    supportsPrefixes,
    prefixLength,
    canCreateInterfaces: l.canCreateInterfaces,
  };
}

export class InstanceLimitsReader {
  private readonly cache = new Map<string, InstanceLimits>();

  constructor(private readonly api: Ec2Api) {}

  async get(instanceType: string): Promise<InstanceLimits> {
    const table = lookupEc2Limits(instanceType);
    if (table) return neutral(table);
    const cached = this.cache.get(instanceType);
    if (cached) return { ...cached };
    // Not in the generated table (a type newer than it): one DescribeInstanceTypes, then cached.
    const out = await this.api.call('DescribeInstanceTypes', (c) =>
      c.send(new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as never] })),
    );
    const info = out.InstanceTypes?.find((t) => t.InstanceType === instanceType);
    if (!info)
      throw new InvalidCloudRequestError({
        provider: 'aws',
        operation: 'DescribeInstanceTypes',
        cloudCode: 'InvalidInstanceType',
        message: `EC2 does not know instance type ${instanceType}`,
      });
    const limits = toInstanceLimits(info);
    this.cache.set(instanceType, limits);
    return { ...limits };
  }
}
