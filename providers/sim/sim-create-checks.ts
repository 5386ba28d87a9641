/**
 * @module sim create checks
 * What a {@link SimProvider} refuses before it makes any call for a new interface, as the AWS provider does
 * (the VPC CNI's hasRoomForEni): a type that cannot take interfaces, a full node, and an initial request the
 * attach would refuse anyway. A refusal costs no call, so a full node costs nothing to ask.
 */
import type { InstanceLimits } from '../types.js';
import type { SimCloud } from './cloud.js';
import type { SimInstanceView } from './model.js';

const OP = 'CreateNetworkInterface';

function limitsOf(cloud: SimCloud, instanceType: string): InstanceLimits {
  const l = cloud.instanceLimits(instanceType);
  if (!l) throw cloud.makeError('invalidInstanceType', OP, `The instance type '${instanceType}' is not known`);
  return l;
}

/** The node's limits, once it is known to have room for one more interface. */
export function checkRoomForInterface(cloud: SimCloud, inst: SimInstanceView): InstanceLimits {
  const limits = limitsOf(cloud, inst.instanceType);
  if (!limits.canCreateInterfaces) {
    throw cloud.makeError(
      'operationNotPermitted',
      'AttachNetworkInterface',
      `Interfaces cannot be attached to a running ${inst.instanceType}`,
    );
  }
  if (inst.interfaces.length >= limits.maxInterfaces) {
    throw cloud.makeError(
      'attachmentLimit',
      'AttachNetworkInterface',
      `Interface count ${inst.interfaces.length + 1} exceeds the limit for ${inst.instanceType}`,
    );
  }
  return limits;
}

/** Rejects an initial request the attach would refuse anyway, before any call is made. */
export function checkInitialRequest(
  cloud: SimCloud,
  initial: { kind: 'ip' | 'prefix'; count: number },
  limits: InstanceLimits,
): void {
  if (!Number.isInteger(initial.count))
    throw cloud.makeError('invalidParameter', OP, `count must be an integer, got ${initial.count}`);
  if (initial.kind === 'prefix' && !limits.supportsPrefixes) {
    throw cloud.makeError(
      'invalidParameter',
      OP,
      `Instance type ${limits.instanceType} does not support prefix delegation`,
    );
  }
  if (initial.kind === 'ip' && !limits.supportsIps) {
    throw cloud.makeError(
      'invalidParameter',
      OP,
      `Instance type ${limits.instanceType} does not support secondary addresses`,
    );
  }
  if (1 + initial.count > limits.ipv4PerInterface) {
    throw cloud.makeError(
      'addressLimit',
      OP,
      `Number of private addresses will exceed limit (${1 + initial.count} > ${limits.ipv4PerInterface}).`,
    );
  }
}
