/**
 * @module ec2 mutating actions
 * Create/Attach/Detach/Delete/ModifyNetworkInterfaceAttribute,
 * Assign/UnassignPrivateIpAddresses and Create/DeleteTags, each one call of
 * the sim cloud (which validates everything and changes nothing on failure).
 * Parameter shapes are those the SDK sends (cloud-apis.md §1.2); each action
 * answers only what EC2 answers (Assign: only the newly added addresses).
 */
import { InvalidCloudRequestError, IpamError, type CloudError } from '../../errors.js';
import type { Transition } from '../../sim/attachment-ops.js';
import type { CreateInterfaceOptions, IpRequest, PrefixRequest } from '../../sim/interface-ops.js';
import type { SimInterfaceType } from '../../sim/model.js';
import { CAPACITY_SHORTAGE_MESSAGE, type ActionContext } from './context.js';
import { oneInterface } from './describe.js';
import { QueryError, type QueryParams } from './query.js';
import { itemSet, leaf } from './xml.js';

const RETURN_TRUE = leaf('return', true);

/**
 * Words "no room" as the emulator is set to (realism.ts `CapacityWording`): the sim's specific codes, or
 * EC2's generic `InvalidParameterValue`, which EC2 also sends for /32 requests, or either by the dice.
 */
function capacity<T>(ctx: ActionContext, op: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const w = ctx.realism.capacityWording;
    const noRoom = IpamError.is(err) && (err.code === 'CLOUD_NO_PREFIX_BLOCK' || err.code === 'CLOUD_SUBNET_FULL');
    if (noRoom && (w === 'generic' || (w === 'mixed' && ctx.dice() < 0.5))) {
      const init = { provider: 'aws', operation: op, cloudCode: 'InvalidParameterValue', cause: err };
      throw new InvalidCloudRequestError({ ...init, message: CAPACITY_SHORTAGE_MESSAGE });
    }
    throw err;
  }
}

/** An attach or detach that takes `ms` of emulator time (0: at once). */
function transition(ctx: ActionContext, ms: number): Transition {
  return ms > 0 ? { settlesAt: ctx.now() + ms } : {};
}

function positive(p: QueryParams, name: string): number | undefined {
  const n = p.int(name);
  if (n !== undefined && n < 1)
    throw new QueryError('InvalidParameterValue', `Value (${n}) for parameter ${name} is invalid. Must be at least 1.`);
  return n;
}

/**
 * CreateNetworkInterface's `InterfaceType`: the EC2 API model's NetworkInterfaceCreationType
 * (@aws-sdk/client-ec2 3.1169.0: branch, efa, efa-only, trunk). `interface` is not one of them; EC2 refuses
 * a value it does not take with this code and text, quoted from EC2 in aws/aws-sdk-go#3095 (RunInstances).
 */
const CREATABLE_TYPES: readonly SimInterfaceType[] = ['branch', 'efa', 'efa-only', 'trunk'];

function interfaceType(p: QueryParams): SimInterfaceType | undefined {
  const raw = p.str('InterfaceType');
  if (raw === undefined) return undefined;
  if (!(CREATABLE_TYPES as readonly string[]).includes(raw)) {
    const text = `'${raw}' is not a valid value for interface type. Enter a valid value and try again.`;
    throw new QueryError('InvalidParameterValue', text);
  }
  return raw as SimInterfaceType;
}

function onlyOne(p: QueryParams, groups: string[][]): void {
  const used = groups.filter((g) => g.some((name) => p.hasAny(name)));
  if (used.length > 1) {
    throw new QueryError(
      'InvalidParameterCombination',
      `Specify only one of ${groups.map((g) => g.join('/')).join(' or ')}`,
    );
  }
}

export function createNetworkInterface(ctx: ActionContext, p: QueryParams): string {
  const op = 'CreateNetworkInterface';
  const token = p.str('ClientToken');
  const tokens = ctx.account.clientTokens;
  const exists = (id: string) => ctx.cloud.describeInterfaces().some((n) => n.id === id);
  const prior = token !== undefined ? tokens.replay(op, token, p, exists) : undefined;
  // The same answer as the first time, changing nothing (idempotency.ts).
  if (prior !== undefined) return oneInterface(ctx.cloud.getInterface(prior)) + leaf('clientToken', token);
  onlyOne(p, [
    ['SecondaryPrivateIpAddressCount', 'PrivateIpAddresses'],
    ['Ipv4PrefixCount', 'Ipv4Prefix'],
  ]);
  const opts: CreateInterfaceOptions = {
    subnetId: p.required('SubnetId'),
    securityGroups: checkedGroups(ctx, op, p.required('SubnetId'), p.list('SecurityGroupId')),
    description: p.str('Description') ?? '',
    tags: p.tagSpecifications('network-interface'),
  };
  const type = interfaceType(p);
  if (type !== undefined) opts.interfaceType = type;
  const primary = p.str('PrivateIpAddress');
  if (primary !== undefined) opts.primaryIp = primary;
  const ipCount = positive(p, 'SecondaryPrivateIpAddressCount');
  const namedIps = p.structField('PrivateIpAddresses', 'PrivateIpAddress');
  if (ipCount !== undefined) opts.secondaryIps = { count: ipCount };
  else if (namedIps.length > 0) opts.secondaryIps = { ips: namedIps };
  const prefixCount = positive(p, 'Ipv4PrefixCount');
  const namedPrefixes = p.structField('Ipv4Prefix', 'Ipv4Prefix');
  if (prefixCount !== undefined) opts.prefixes = { count: prefixCount };
  else if (namedPrefixes.length > 0) opts.prefixes = { prefixes: namedPrefixes };
  const nic = capacity(ctx, op, () => ctx.cloud.createInterface(opts));
  if (token !== undefined) tokens.record(op, token, p, nic.id);
  ctx.changed(nic.id);
  return oneInterface(nic, 'pending') + leaf('clientToken', token);
}

export function attachNetworkInterface(ctx: ActionContext, p: QueryParams): string {
  const nicId = p.required('NetworkInterfaceId');
  const instanceId = p.required('InstanceId');
  const deviceIndex = p.int('DeviceIndex');
  if (deviceIndex === undefined)
    throw new QueryError('MissingParameter', 'The request must contain the parameter DeviceIndex');
  // Card and per-card limits are the sim's (attachment-ops.ts): a multi-card type counts each card alone.
  const networkCardIndex = p.int('NetworkCardIndex') ?? 0;
  const how = { ...transition(ctx, ctx.realism.attachMs), networkCardIndex };
  const a = ctx.cloud.attachInterface(nicId, instanceId, deviceIndex, how);
  ctx.changed(nicId);
  return leaf('attachmentId', a.id) + leaf('networkCardIndex', networkCardIndex);
}

export function detachNetworkInterface(ctx: ActionContext, p: QueryParams): string {
  const attachmentId = p.required('AttachmentId');
  const nic = ctx.cloud.findInterfaceByAttachment(attachmentId);
  if (!nic) throw attachmentNotFound(ctx, 'DetachNetworkInterface', attachmentId);
  ctx.cloud.detachInterface(nic.id, transition(ctx, ctx.realism.detachMs));
  return RETURN_TRUE;
}

export function deleteNetworkInterface(ctx: ActionContext, p: QueryParams): string {
  ctx.cloud.deleteInterface(p.required('NetworkInterfaceId'));
  return RETURN_TRUE;
}

/**
 * One attribute per call, as EC2's API takes it: `Attachment.DeleteOnTermination` or the interface's groups
 * (`SecurityGroupId.N`, checked like Create's). Description and SourceDestCheck are not modelled.
 */
export function modifyNetworkInterfaceAttribute(ctx: ActionContext, p: QueryParams): string {
  const op = 'ModifyNetworkInterfaceAttribute';
  const nicId = p.required('NetworkInterfaceId');
  for (const other of ['Description.Value', 'SourceDestCheck.Value']) {
    const models = 'The emulator models only Attachment.DeleteOnTermination and SecurityGroupId.N';
    if (p.has(other)) throw new QueryError('UnsupportedOperation', `${models}, not ${other}`);
  }
  onlyOne(p, [['Attachment'], ['SecurityGroupId']]);
  const nic = ctx.cloud.getInterface(nicId);
  if (p.hasAny('SecurityGroupId')) {
    ctx.cloud.setSecurityGroups(nicId, checkedGroups(ctx, op, nic.subnetId, p.list('SecurityGroupId')));
    return RETURN_TRUE;
  }
  const attachmentId = p.required('Attachment.AttachmentId');
  const del = p.bool('Attachment.DeleteOnTermination');
  if (del === undefined)
    throw new QueryError('MissingParameter', 'The request must contain the parameter Attachment.DeleteOnTermination');
  if (nic.attachment?.id !== attachmentId) throw attachmentNotFound(ctx, op, attachmentId);
  ctx.cloud.modifyAttachment(nicId, { deleteOnTermination: del });
  return RETURN_TRUE;
}

export function assignPrivateIpAddresses(ctx: ActionContext, p: QueryParams): string {
  const nicId = p.required('NetworkInterfaceId');
  onlyOne(p, [
    ['SecondaryPrivateIpAddressCount', 'PrivateIpAddress'],
    ['Ipv4PrefixCount', 'Ipv4Prefix'],
  ]);
  const ipCount = positive(p, 'SecondaryPrivateIpAddressCount');
  const ips = p.list('PrivateIpAddress');
  const prefixCount = positive(p, 'Ipv4PrefixCount');
  const prefixes = p.list('Ipv4Prefix');
  let addedIps: string[] = [];
  let addedPrefixes: string[] = [];
  const op = 'AssignPrivateIpAddresses';
  const c = ctx.cloud;
  const ipsOf = (req: IpRequest) => capacity(ctx, op, () => c.assignPrivateIps(nicId, req));
  const prefixesOf = (req: PrefixRequest) => capacity(ctx, op, () => c.assignPrefixes(nicId, req));
  if (ipCount !== undefined) addedIps = ipsOf({ count: ipCount });
  else if (ips.length > 0) addedIps = ipsOf({ ips });
  else if (prefixCount !== undefined) addedPrefixes = prefixesOf({ count: prefixCount });
  else if (prefixes.length > 0) addedPrefixes = prefixesOf({ prefixes });
  else
    throw new QueryError(
      'MissingParameter',
      'Specify SecondaryPrivateIpAddressCount, PrivateIpAddress.N, Ipv4PrefixCount or Ipv4Prefix.N',
    );
  ctx.changed(nicId);
  return (
    leaf('networkInterfaceId', nicId) +
    itemSet(
      'assignedPrivateIpAddressesSet',
      addedIps.map((ip) => leaf('privateIpAddress', ip)),
    ) +
    itemSet(
      'assignedIpv4PrefixSet',
      addedPrefixes.map((c) => leaf('ipv4Prefix', c)),
    )
  );
}

export function unassignPrivateIpAddresses(ctx: ActionContext, p: QueryParams): string {
  const nicId = p.required('NetworkInterfaceId');
  const ips = p.list('PrivateIpAddress');
  const prefixes = p.list('Ipv4Prefix');
  if (ips.length === 0 && prefixes.length === 0)
    throw new QueryError('MissingParameter', 'Specify PrivateIpAddress.N or Ipv4Prefix.N');
  // Check the prefixes before touching the addresses, so a bad request changes nothing.
  const nic = ctx.cloud.getInterface(nicId);
  const missing = prefixes.filter((c) => !nic.prefixes.includes(c));
  if (missing.length > 0) {
    throw ctx.cloud.makeError(
      'invalidParameter',
      'UnassignPrivateIpAddresses',
      `Some of the specified prefixes are not assigned to interface ${nicId}: ${missing.join(', ')}`,
    );
  }
  if (ips.length > 0) ctx.cloud.unassignPrivateIps(nicId, ips);
  if (prefixes.length > 0) ctx.cloud.unassignPrefixes(nicId, prefixes);
  return RETURN_TRUE;
}

export function createTags(ctx: ActionContext, p: QueryParams): string {
  const ids = p.list('ResourceId');
  if (ids.length === 0) throw new QueryError('MissingParameter', 'The request must contain the parameter ResourceId');
  ctx.cloud.createTags(ids, p.tags());
  return RETURN_TRUE;
}

export function deleteTags(ctx: ActionContext, p: QueryParams): string {
  const ids = p.list('ResourceId');
  if (ids.length === 0) throw new QueryError('MissingParameter', 'The request must contain the parameter ResourceId');
  ctx.cloud.deleteTags(ids, Object.keys(p.tags()));
  return RETURN_TRUE;
}

/** The groups, checked against the account when the emulator validates them (security-groups.ts). */
function checkedGroups(ctx: ActionContext, op: string, subnetId: string, groups: string[]): string[] {
  if (ctx.realism.validateGroups) ctx.account.groups.check(op, subnetId, groups);
  return groups;
}

function attachmentNotFound(ctx: ActionContext, op: string, id: string): CloudError {
  return ctx.cloud.makeError('attachmentNotFound', op, `The network interface attachment ID '${id}' does not exist`);
}
