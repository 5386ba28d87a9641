/**
 * @module ec2 authorization requests
 * What EC2 asks IAM before it carries out a request: one (action, resource ARN, context keys) per resource
 * the request touches, each of which must be allowed. The resources and keys per action follow the Service
 * Authorization Reference, "Actions, resources, and condition keys for Amazon EC2":
 *
 * - Describe*: `*` (no resource-level permissions);
 * - CreateNetworkInterface: `network-interface/*` (`aws:RequestTag/k`, `aws:TagKeys`, `ec2:Subnet`, `ec2:Vpc`),
 *   the subnet (`ec2:Vpc`) and each security group (`ec2:Vpc`); with `TagSpecification.N` also `ec2:CreateTags`
 *   on `network-interface/*` with `ec2:CreateAction=CreateNetworkInterface` and the request's tags;
 * - Attach/DetachNetworkInterface: the network interface and the instance;
 * - ModifyNetworkInterfaceAttribute: the network interface, the attached instance (`Attachment.*`), the
 *   groups (`SecurityGroupId.N`);
 * - DeleteNetworkInterface, Assign/UnassignPrivateIpAddresses: the network interface;
 * - CreateTags/DeleteTags: each resource named, with the request's `aws:RequestTag/k` and `aws:TagKeys`.
 *
 * An existing resource's tags are both `aws:ResourceTag/k` and `ec2:ResourceTag/k` (EC2 accepts either; its
 * decoded messages say `ec2:`, awsdocs/amazon-ec2-user-guide#234). A resource being created is
 * `…:network-interface/*`, as EC2 names it in decoded messages (`instance/*` for RunInstances). Every resource
 * also has `ec2:Region`, and where it has one `ec2:AvailabilityZone`.
 *
 * A resource the request names that does not exist is left out (assumed: EC2 reads a resource to learn its tags
 * before it asks IAM, so an unknown id is answered NotFound by the action, as the emulator's handler then does).
 * Authorization reads the cloud's truth: eventual consistency is a property of EC2's read path, not of IAM.
 */
import type { SimCloud } from '../../sim/cloud.js';
import type { SimInstanceView, SimInterface, Tags } from '../../sim/model.js';
import type { Subnet } from '../../types.js';
import type { ActionContext } from './context.js';
import type { AuthorizationRequest } from './iam-policy.js';
import type { QueryParams } from './query.js';
import { EMULATOR_ACCOUNT_ID } from './render.js';

type Context = Record<string, string | string[]>;
interface Target {
  resource: string;
  context: Context;
  /** When IAM asks about another action than the request's (tag-on-create asks about CreateTags). */
  action?: string;
}

function regionOf(zone: string): string {
  return zone.replace(/[a-z]$/, '');
}

function arn(region: string, type: string, id: string): string {
  return `arn:aws:ec2:${region}:${EMULATOR_ACCOUNT_ID}:${type}/${id}`;
}

function placed(zone: string): Context {
  return { 'ec2:Region': regionOf(zone), 'ec2:AvailabilityZone': zone };
}

function resourceTags(tags: Tags): Context {
  const out: Context = {};
  for (const [k, v] of Object.entries(tags)) {
    out[`aws:ResourceTag/${k}`] = v;
    out[`ec2:ResourceTag/${k}`] = v;
  }
  return out;
}

/** The keys a request that writes tags carries; none when it writes none. */
function requestTags(tags: Tags): Context {
  const keys = Object.keys(tags);
  if (keys.length === 0) return {};
  const out: Context = { 'aws:TagKeys': keys };
  for (const k of keys) out[`aws:RequestTag/${k}`] = tags[k]!;
  return out;
}

function interfaceTarget(n: SimInterface): Target {
  const r = regionOf(n.zone);
  const where = { 'ec2:Vpc': arn(r, 'vpc', n.vpcId), 'ec2:Subnet': arn(r, 'subnet', n.subnetId) };
  const context = { ...placed(n.zone), ...where, ...resourceTags(n.tags) };
  return { resource: arn(r, 'network-interface', n.id), context };
}

function instanceTarget(i: SimInstanceView): Target {
  const context = { ...placed(i.zone), 'ec2:InstanceType': i.instanceType, ...resourceTags(i.tags) };
  return { resource: arn(regionOf(i.zone), 'instance', i.id), context };
}

function subnetTarget(s: Subnet): Target {
  const r = regionOf(s.zone);
  const context = { ...placed(s.zone), 'ec2:Vpc': arn(r, 'vpc', s.vpcId), ...resourceTags(s.tags) };
  return { resource: arn(r, 'subnet', s.id), context };
}

/** The sim keeps groups as bare ids in a VPC, without tags (security-groups.ts). */
function groupTargets(ctx: ActionContext, region: string, groups: string[]): Target[] {
  return groups.flatMap((g) => {
    const vpc = ctx.account.groups.vpcOf(g);
    const context = { 'ec2:Region': region, ...(vpc ? { 'ec2:Vpc': arn(region, 'vpc', vpc) } : {}) };
    return vpc ? [{ resource: arn(region, 'security-group', g), context }] : [];
  });
}

function maybe<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined; // not there: the action's handler gives EC2's NotFound for it
  }
}

/** Any taggable resource by its id's prefix, as CreateTags/DeleteTags name them. */
function taggableTarget(cloud: SimCloud, id: string): Target | undefined {
  if (id.startsWith('eni-')) return maybe(() => interfaceTarget(cloud.getInterface(id)));
  if (id.startsWith('i-')) return maybe(() => instanceTarget(cloud.getInstance(id)));
  if (id.startsWith('subnet-')) return maybe(() => subnetTarget(cloud.getSubnet(id)));
  if (!id.startsWith('vpc-')) return undefined;
  const vpc = maybe(() => cloud.getVpc(id));
  if (!vpc) return undefined;
  const region = regionOf(cloud.describeSubnets({ vpcId: vpc.id })[0]?.zone ?? 'us-east-1a'); // a VPC has no zone
  return { resource: arn(region, 'vpc', vpc.id), context: { 'ec2:Region': region, ...resourceTags(vpc.tags) } };
}

function createTargets(ctx: ActionContext, p: QueryParams): Target[] {
  const subnet = maybe(() => ctx.cloud.getSubnet(p.str('SubnetId') ?? ''));
  if (!subnet) return [];
  const r = regionOf(subnet.zone);
  const tags = requestTags(p.tagSpecifications('network-interface'));
  const where = { 'ec2:Vpc': arn(r, 'vpc', subnet.vpcId), 'ec2:Subnet': arn(r, 'subnet', subnet.id) };
  const eni: Target = { resource: arn(r, 'network-interface', '*'), context: { ...placed(subnet.zone), ...where } };
  // No group named: EC2 gives the ENI the VPC's default group, which IAM then checks (as for RunInstances).
  const named = p.list('SecurityGroupId');
  const groups = named.length ? named : [maybe(() => ctx.cloud.getVpc(subnet.vpcId))?.defaultSecurityGroup ?? ''];
  const out = [eni, subnetTarget(subnet), ...groupTargets(ctx, r, groups)];
  for (const t of out) Object.assign(t.context, tags);
  if (tags['aws:TagKeys']) {
    const context = { ...eni.context, 'ec2:CreateAction': 'CreateNetworkInterface' };
    out.push({ action: 'CreateTags', resource: eni.resource, context });
  }
  return out;
}

function targetsOf(ctx: ActionContext, action: string, p: QueryParams): Target[] {
  const c = ctx.cloud;
  const nic = (id: string | undefined) => maybe(() => c.getInterface(id ?? ''));
  const instance = (id: string | undefined) => maybe(() => c.getInstance(id ?? ''));
  const targets = (n: SimInterface | undefined, i: SimInstanceView | undefined): Target[] => [
    ...(n ? [interfaceTarget(n)] : []),
    ...(i ? [instanceTarget(i)] : []),
  ];
  switch (action) {
    case 'CreateNetworkInterface':
      return createTargets(ctx, p);
    case 'AttachNetworkInterface':
      return targets(nic(p.str('NetworkInterfaceId')), instance(p.str('InstanceId')));
    case 'DetachNetworkInterface': {
      const n = c.findInterfaceByAttachment(p.str('AttachmentId') ?? '');
      return targets(n, instance(n?.attachment?.instanceId));
    }
    case 'ModifyNetworkInterfaceAttribute': {
      const n = nic(p.str('NetworkInterfaceId'));
      if (!n) return [];
      const i = p.hasAny('Attachment') ? instance(n.attachment?.instanceId) : undefined;
      const groups = groupTargets(ctx, regionOf(n.zone), p.list('SecurityGroupId'));
      return [...targets(n, i), ...groups];
    }
    case 'DeleteNetworkInterface':
    case 'AssignPrivateIpAddresses':
    case 'UnassignPrivateIpAddresses':
      return targets(nic(p.str('NetworkInterfaceId')), undefined);
    case 'CreateTags':
    case 'DeleteTags': {
      const tags = requestTags(p.tags());
      const found = p.list('ResourceId').map((id) => taggableTarget(c, id));
      return found
        .filter((t): t is Target => t !== undefined)
        .map((t) => ({ ...t, context: { ...t.context, ...tags } }));
    }
    default:
      return [{ resource: '*', context: {} }]; // Describe*: no resource-level permissions
  }
}

/** Everything IAM must allow for this request, in the order EC2 would report the first refusal. */
export function authorizationRequests(ctx: ActionContext, action: string, p: QueryParams): AuthorizationRequest[] {
  return targetsOf(ctx, action, p).map((t) => ({
    action: `ec2:${t.action ?? action}`,
    resource: t.resource,
    context: t.context,
  }));
}
