/**
 * @module sim cloud state
 * Checks a saved {@link SimCloudState} before the cloud trusts it. A state
 * file is written by us, but it may be truncated, hand-edited or from an
 * older version; failing here with a CheckpointError that names the field
 * beats a TypeError deep inside an allocation later. Address overlaps are
 * checked afterwards, when the store rebuilds its address spaces.
 */
import { CheckpointError } from '../errors.js';
import { SIM_INTERFACE_TYPES, SIM_STATE_VERSION, type SimCloudState } from './model.js';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(path: string, want: string): never {
  throw new CheckpointError(`sim state: ${path} must be ${want}`);
}

function str(o: Obj, k: string, path: string): void {
  if (typeof o[k] !== 'string') bad(`${path}.${k}`, 'a string');
}

function num(o: Obj, k: string, path: string): void {
  if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) bad(`${path}.${k}`, 'a number');
}

function strArr(o: Obj, k: string, path: string): void {
  const v = o[k];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad(`${path}.${k}`, 'an array of strings');
}

function tags(o: Obj, k: string, path: string): void {
  const v = o[k];
  if (!isObj(v) || Object.values(v).some((x) => typeof x !== 'string')) bad(`${path}.${k}`, 'a string map');
}

function list(state: Obj, key: string, check: (o: Obj, path: string) => void): void {
  const v = state[key];
  if (!Array.isArray(v)) bad(key, 'an array');
  v.forEach((item, i) => {
    const path = `${key}[${i}]`;
    if (!isObj(item)) bad(path, 'an object');
    check(item, path);
  });
}

/** Validates the shape of a saved state and returns it typed; throws CheckpointError otherwise. */
export function checkSimCloudState(raw: unknown): SimCloudState {
  if (!isObj(raw)) bad('state', 'an object');
  if (raw.version !== SIM_STATE_VERSION) bad('version', `${SIM_STATE_VERSION} (got ${String(raw.version)})`);
  num(raw, 'prngState', 'state');
  num(raw, 'nextId', 'state');
  list(raw, 'vpcs', (o, p) => {
    str(o, 'id', p);
    strArr(o, 'cidrs', p);
    str(o, 'defaultSecurityGroup', p);
    tags(o, 'tags', p);
  });
  list(raw, 'subnets', (o, p) => {
    for (const k of ['id', 'vpcId', 'cidr', 'zone']) str(o, k, p);
    tags(o, 'tags', p);
  });
  list(raw, 'reservations', (o, p) => {
    for (const k of ['id', 'subnetId', 'cidr', 'description']) str(o, k, p);
    if (!['blocked', 'explicit', 'prefix'].includes(o.type as string)) bad(`${p}.type`, 'blocked, explicit or prefix');
  });
  list(raw, 'instances', (o, p) => {
    for (const k of ['id', 'instanceType', 'zone', 'vpcId', 'subnetId', 'primaryInterfaceId']) str(o, k, p);
    strArr(o, 'securityGroups', p);
    tags(o, 'tags', p);
    num(o, 'launchedAt', p);
  });
  list(raw, 'interfaces', (o, p) => {
    for (const k of ['id', 'mac', 'vpcId', 'subnetId', 'zone', 'primaryIp', 'description']) str(o, k, p);
    for (const k of ['securityGroups', 'privateIps', 'prefixes']) strArr(o, k, p);
    tags(o, 'tags', p);
    num(o, 'createdAt', p);
    if (o.status !== 'available' && o.status !== 'in-use') bad(`${p}.status`, 'available or in-use');
    if (o.interfaceType !== undefined && !(SIM_INTERFACE_TYPES as readonly unknown[]).includes(o.interfaceType)) {
      bad(`${p}.interfaceType`, SIM_INTERFACE_TYPES.join(', '));
    }
    if (o.attachment !== undefined) {
      const a = o.attachment;
      if (!isObj(a)) bad(`${p}.attachment`, 'an object');
      str(a, 'id', `${p}.attachment`);
      str(a, 'instanceId', `${p}.attachment`);
      num(a, 'deviceIndex', `${p}.attachment`);
      num(a, 'attachedAt', `${p}.attachment`);
      if (typeof a.deleteOnTermination !== 'boolean') bad(`${p}.attachment.deleteOnTermination`, 'a boolean');
      const q = `${p}.attachment`;
      const states: unknown[] = [undefined, 'attaching', 'detaching'];
      if (!states.includes(a.state)) bad(`${q}.state`, 'attaching or detaching');
      if ((a.state === undefined) !== (a.settlesAt === undefined)) bad(`${q}.settlesAt`, 'set exactly when state is');
      if (a.settlesAt !== undefined) num(a, 'settlesAt', q);
      if (a.networkCardIndex !== undefined) num(a, 'networkCardIndex', q);
    }
    if ((o.status === 'in-use') !== (o.attachment !== undefined)) bad(`${p}.status`, 'in-use exactly when attached');
  });
  list(raw, 'instanceTypes', (o, p) => {
    str(o, 'instanceType', p);
    for (const k of ['maxInterfaces', 'ipv4PerInterface', 'prefixLength']) num(o, k, p);
    if (o.networkCards !== undefined) num(o, 'networkCards', p);
    for (const k of ['supportsIps', 'supportsPrefixes', 'canCreateInterfaces']) {
      if (typeof o[k] !== 'boolean') bad(`${p}.${k}`, 'a boolean');
    }
  });
  if (raw.secondaryRanges !== undefined) {
    list(raw, 'secondaryRanges', (o, p) => {
      for (const k of ['id', 'subnetId', 'name', 'cidr']) str(o, k, p);
    });
  }
  if (raw.subnetReserved !== undefined) {
    const r = raw.subnetReserved;
    if (!isObj(r)) bad('subnetReserved', 'an object');
    for (const k of ['first', 'last']) {
      num(r, k, 'subnetReserved');
      if (!Number.isInteger(r[k]) || (r[k] as number) < 0) bad(`subnetReserved.${k}`, 'a non-negative integer');
    }
  }
  return raw as unknown as SimCloudState;
}
