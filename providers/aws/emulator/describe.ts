/**
 * @module ec2 describe actions
 * DescribeInstances, DescribeInstanceTypes, DescribeNetworkInterfaces and
 * DescribeSubnets over the sim cloud, with EC2's filter semantics (values of
 * one filter OR-ed, filters AND-ed, `*`/`?` wildcards) and pagination
 * (`MaxResults` 5-1000, opaque `NextToken`; `MaxResults` may not be combined
 * with explicit ids, cloud-apis.md §1.6). Unknown filter names are refused,
 * as EC2 does, so a typo in the adapter cannot silently match everything.
 */
import { globMatch } from '../../sim/filters.js';
import type { SimInterface } from '../../sim/model.js';
import type { Subnet } from '../../types.js';
import type { ActionContext } from './context.js';
import { QueryError, type QueryParams } from './query.js';
import { instanceTypeXml, instanceXml, networkInterfaceXml, subnetXml, EMULATOR_ACCOUNT_ID } from './render.js';
import { itemSet, leaf, node } from './xml.js';

type Filter = { name: string; values: string[] };

function anyGlob(values: string[], candidates: string[]): boolean {
  return values.some((p) => candidates.some((c) => globMatch(p, c)));
}

function tagFilter(f: Filter, tags: Record<string, string>): boolean | undefined {
  if (f.name === 'tag-key') return anyGlob(f.values, Object.keys(tags));
  if (f.name.startsWith('tag:')) {
    const key = f.name.slice(4);
    return Object.hasOwn(tags, key) && anyGlob(f.values, [tags[key]!]);
  }
  return undefined;
}

function invalidFilter(name: string): never {
  throw new QueryError('InvalidParameterValue', `The filter '${name}' is invalid`);
}

function interfaceFilter(f: Filter, n: SimInterface): boolean {
  const t = tagFilter(f, n.tags);
  if (t !== undefined) return t;
  switch (f.name) {
    case 'network-interface-id':
      return anyGlob(f.values, [n.id]);
    case 'attachment.instance-id':
      return n.attachment !== undefined && anyGlob(f.values, [n.attachment.instanceId]);
    case 'attachment.attachment-id':
      return n.attachment !== undefined && anyGlob(f.values, [n.attachment.id]);
    case 'attachment.device-index':
      return n.attachment !== undefined && f.values.includes(String(n.attachment.deviceIndex));
    case 'attachment.status':
      return anyGlob(f.values, [n.attachment ? (n.attachment.state ?? 'attached') : 'detached']);
    case 'subnet-id':
      return anyGlob(f.values, [n.subnetId]);
    case 'vpc-id':
      return anyGlob(f.values, [n.vpcId]);
    case 'status':
      return f.values.includes(n.status);
    case 'availability-zone':
      return anyGlob(f.values, [n.zone]);
    case 'description':
      return anyGlob(f.values, [n.description]);
    case 'private-ip-address':
    case 'addresses.private-ip-address':
      return anyGlob(f.values, [n.primaryIp, ...n.privateIps]);
    case 'mac-address':
      return anyGlob(f.values, [n.mac]);
    case 'interface-type':
      return anyGlob(f.values, [n.interfaceType ?? 'interface']);
    case 'group-id':
      return anyGlob(f.values, n.securityGroups);
    case 'owner-id':
      return f.values.includes(EMULATOR_ACCOUNT_ID);
    default:
      return invalidFilter(f.name);
  }
}

function subnetFilter(f: Filter, s: Subnet): boolean {
  const t = tagFilter(f, s.tags);
  if (t !== undefined) return t;
  switch (f.name) {
    case 'subnet-id':
      return anyGlob(f.values, [s.id]);
    case 'vpc-id':
      return anyGlob(f.values, [s.vpcId]);
    case 'availability-zone':
      return anyGlob(f.values, [s.zone]);
    case 'cidr-block':
    case 'cidr':
      return anyGlob(f.values, [s.cidr]);
    case 'state':
      return f.values.includes('available');
    default:
      return invalidFilter(f.name);
  }
}

/** Applies MaxResults/NextToken to an ordered list; the token is the next index, opaque to clients. */
function paginate<T>(p: QueryParams, items: T[], idsGiven: boolean): { page: T[]; nextToken?: string } {
  const max = p.int('MaxResults');
  const token = p.str('NextToken');
  if (max !== undefined && idsGiven) {
    throw new QueryError(
      'InvalidParameterCombination',
      'The parameter MaxResults cannot be used with the parameter NetworkInterfaceIds',
    );
  }
  if (max !== undefined && (max < 5 || max > 1000)) {
    throw new QueryError(
      'InvalidParameterValue',
      `Value (${max}) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`,
    );
  }
  let start = 0;
  if (token !== undefined) {
    const decoded = Number(
      Buffer.from(token, 'base64url')
        .toString('utf8')
        .replace(/^page:/, ''),
    );
    if (!Number.isInteger(decoded) || decoded < 0 || decoded > items.length)
      throw new QueryError('InvalidNextToken', 'The specified token is invalid');
    start = decoded;
  }
  const size = max ?? 1000;
  const page = items.slice(start, start + size);
  const next = start + size < items.length ? Buffer.from(`page:${start + size}`).toString('base64url') : undefined;
  return next === undefined ? { page } : { page, nextToken: next };
}

export function describeNetworkInterfaces(ctx: ActionContext, p: QueryParams): string {
  const ids = p.list('NetworkInterfaceId');
  const filters = p.filters();
  const all = ctx.cloud.describeInterfaces(ids.length ? { ids } : {});
  const matched = all.filter((n) => filters.every((f) => interfaceFilter(f, n)));
  const { page, nextToken } = paginate(p, matched, ids.length > 0);
  return (
    itemSet(
      'networkInterfaceSet',
      page.map((n) => networkInterfaceXml(n)),
    ) + leaf('nextToken', nextToken)
  );
}

export function describeSubnets(ctx: ActionContext, p: QueryParams): string {
  const ids = p.list('SubnetId');
  const filters = p.filters();
  const subnets = ctx.cloud.describeSubnets(ids.length ? { ids } : {}).sort((a, b) => (a.id < b.id ? -1 : 1));
  const matched = subnets.filter((s) => filters.every((f) => subnetFilter(f, s)));
  const { page, nextToken } = paginate(p, matched, false);
  return itemSet('subnetSet', page.map(subnetXml)) + leaf('nextToken', nextToken);
}

export function describeInstances(ctx: ActionContext, p: QueryParams): string {
  const ids = p.list('InstanceId');
  const filters = p.filters();
  for (const f of filters) if (f.name !== 'instance-id') invalidFilter(f.name);
  const wanted = ids.length ? ids : undefined;
  const instances = ctx.cloud.describeInstances(wanted).filter((i) => filters.every((f) => anyGlob(f.values, [i.id])));
  // One reservation per instance, as for instances launched one at a time.
  const reservations = instances.map(
    (inst) =>
      leaf('reservationId', `r-${inst.id.slice(2)}`) +
      leaf('ownerId', EMULATOR_ACCOUNT_ID) +
      itemSet('groupSet', []) +
      itemSet('instancesSet', [instanceXml(inst)]),
  );
  return itemSet('reservationSet', reservations);
}

export function describeInstanceTypes(ctx: ActionContext, p: QueryParams): string {
  const types = p.list('InstanceType');
  if (types.length === 0)
    throw new QueryError(
      'InvalidParameterValue',
      'The emulator only answers DescribeInstanceTypes for named instance types',
    );
  const unknown = types.filter((t) => !ctx.cloud.instanceLimits(t));
  if (unknown.length > 0)
    throw new QueryError(
      'InvalidInstanceType',
      `The following supplied instance types do not exist: [${unknown.join(', ')}]`,
    );
  return itemSet(
    'instanceTypeSet',
    types.map((t) => instanceTypeXml(ctx.cloud.instanceLimits(t)!)),
  );
}

/** Shared by the mutating actions that answer with one interface. */
export function oneInterface(n: SimInterface, statusOverride?: string): string {
  return node('networkInterface', networkInterfaceXml(n, statusOverride));
}
