/**
 * @module azure emulator NIC PUT
 * `PUT …/networkInterfaces/{nic}` is a full replacement of the NIC's
 * ipConfigurations (cloud-apis.md §4.3): names in the body that the NIC has
 * are kept, new names are allocated (Dynamic: the emulator picks a free
 * address of the ipConfiguration's subnet; Static: the given one), names
 * missing from the body are removed. This file validates a body into a plan
 * and allocates its additions all-or-nothing; `operations.ts` decides when
 * the removals happen and when the additions count as Succeeded.
 *
 * Every ipConfiguration of a NIC must be in one subnet. Azure answers 400
 * `IpConfigurationsOnSameNicCannotUseDifferentSubnets`, "IPConfigurations on
 * a Nic <id> cannot belong to different subnets. Subnets referred: <a>;<b>"
 * (captured in azure-sdk-for-net `sdk/network/Azure.ResourceManager.Network/
 * tests/SessionRecords/NetworkInterfaceTests/AssertMultiIpConfigOnDifferentSubnetFails.json`;
 * also Azure/azure-sdk-for-java#1865). Pods in another subnet need another
 * NIC (docs/azure.md, "Pod subnet").
 */
import { CloudError } from '../../errors.js';
import { canonicalIp, parseBlock } from '../../sim/addr.js';
import type { SimInterface, SimSubnet } from '../../sim/index.js';
import { parseSubnetId, sameId } from '../arm-ids.js';
import { ArmError } from './arm-error.js';
import { AZURE_MAX_IPCONFIGS, TAG, ipcTagValue, parseIpcTag, type AzureWorld, type IpcRecord } from './azure-world.js';

/** One ipConfiguration to create. */
export interface IpcSpec {
  name: string;
  subnet: SimSubnet;
  /** Static address; undefined = Dynamic. */
  ip?: string;
}

export interface NicPutPlan {
  add: IpcSpec[];
  /** Existing secondary ipConfigurations the body leaves out (or changes): name → tag value. */
  remove: Record<string, string>;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/;

function bad(message: string, code = 'InvalidRequestFormat'): ArmError {
  return new ArmError(400, code, message);
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

/** Validates a PUT body against the NIC's current state and returns what must change. */
export function planNicPut(world: AzureWorld, nic: SimInterface, body: unknown): NicPutPlan {
  const props = obj(obj(body)?.properties);
  const list = props?.ipConfigurations;
  if (!Array.isArray(list) || list.length === 0) throw bad('properties.ipConfigurations must be a non-empty array');
  if (list.length > AZURE_MAX_IPCONFIGS) {
    throw bad(
      `Network interface ${nic.tags[TAG.name]} has ${list.length} IP configurations; ` +
        `at most ${AZURE_MAX_IPCONFIGS} are allowed.`,
      world.cloud.errorCodes.addressLimit,
    );
  }
  oneSubnet(world, nic, list);
  const current = new Map(world.ipConfigs(nic).map((c) => [c.name.toLowerCase(), c]));
  const primaryNow = world.ipConfigs(nic)[0]!;
  const seen = new Set<string>();
  const plan: NicPutPlan = { add: [], remove: {} };
  let primaries = 0;
  const ownIps = new Set([...current.values()].map((c) => c.ip));
  const staticIps = new Set<string>();
  for (const [i, raw] of list.entries()) {
    const ipc = obj(raw);
    const p = obj(ipc?.properties) ?? {};
    const name = ipc?.name;
    if (typeof name !== 'string' || !NAME_RE.test(name)) throw bad(`ipConfigurations[${i}].name is missing or invalid`);
    if (seen.has(name.toLowerCase())) throw bad(`ipConfigurations[${i}]: duplicate name ${name}`);
    seen.add(name.toLowerCase());
    const primary = p.primary === true || (list.length === 1 && p.primary === undefined);
    if (primary) primaries++;
    const subnetRef = obj(p.subnet)?.id;
    if (typeof subnetRef !== 'string') throw bad(`ipConfigurations[${i}] (${name}): properties.subnet.id is required`);
    const subnet = resolveSubnet(world, subnetRef, nic);
    const method = p.privateIPAllocationMethod ?? 'Dynamic';
    if (method !== 'Dynamic' && method !== 'Static')
      throw bad(`ipConfigurations[${i}] (${name}): privateIPAllocationMethod must be Dynamic or Static`);
    let ip: string | undefined;
    if (p.privateIPAddress !== undefined && p.privateIPAddress !== null && p.privateIPAddress !== '') {
      ip = canonicalIp(String(p.privateIPAddress));
      if (!ip)
        throw bad(
          `ipConfigurations[${i}] (${name}): ${String(p.privateIPAddress)} is not an IPv4 address`,
          'InvalidPrivateIPAddressFormat',
        );
    } else if (method === 'Static') {
      throw bad(`ipConfigurations[${i}] (${name}): a Static ipConfiguration needs privateIPAddress`);
    }
    const existing = current.get(name.toLowerCase());
    if (primary) {
      if (!existing?.primary)
        throw bad(
          `The primary IP configuration of ${nic.tags[TAG.name]} is ${primaryNow.name}; ` +
            'changing it is not supported by this emulator.',
          'OperationNotSupported',
        );
      if ((ip && ip !== existing.ip) || subnet.id !== existing.subnet)
        throw bad(`The primary IP configuration ${name} cannot change its address or subnet.`, 'OperationNotSupported');
      continue;
    }
    if (existing && !existing.primary) {
      // Same name, same place: kept. A Dynamic body without an address keeps the current one.
      if (subnet.id === existing.subnet && (ip === undefined || ip === existing.ip || method === 'Dynamic')) continue;
      plan.remove[existing.name] = ipcTagValue(existing.ip, existing.subnet, nic.subnetId);
    } else if (existing?.primary) {
      throw bad(`${name} is the primary IP configuration and must stay primary.`, 'OperationNotSupported');
    }
    if (ip !== undefined && method === 'Static') {
      checkStatic(subnet, ip, name);
      // The SimCloud treats an address the NIC already has as a no-op; ARM refuses a second ipConfiguration with it.
      if (ownIps.has(ip) || staticIps.has(ip)) {
        throw bad(
          `Private static IP address ${ip} of IP configuration ${name} ` +
            'is already allocated to another IP configuration.',
          world.cloud.errorCodes.addressInUse,
        );
      }
      staticIps.add(ip);
    }
    plan.add.push({ name, subnet, ...(method === 'Static' ? { ip } : {}) });
  }
  if (primaries !== 1) throw bad(`Exactly one IP configuration must be primary, got ${primaries}.`);
  for (const c of current.values()) {
    if (!c.primary && !seen.has(c.name.toLowerCase())) plan.remove[c.name] = ipcTagValue(c.ip, c.subnet, nic.subnetId);
  }
  return plan;
}

/** Azure's one-subnet-per-NIC rule, checked on the body as sent (references compared case-insensitively, as ARM). */
function oneSubnet(world: AzureWorld, nic: SimInterface, list: unknown[]): void {
  const refs: string[] = [];
  for (const raw of list) {
    const ref = obj(obj(obj(raw)?.properties)?.subnet)?.id;
    if (typeof ref === 'string' && !refs.some((r) => sameId(r, ref))) refs.push(ref);
  }
  if (refs.length < 2) return;
  const message =
    `IPConfigurations on a Nic ${world.nicArmId(nic)} cannot belong to different subnets. ` +
    `Subnets referred: ${refs.join(';')}`;
  throw bad(message, 'IpConfigurationsOnSameNicCannotUseDifferentSubnets');
}

function resolveSubnet(world: AzureWorld, ref: string, nic: SimInterface): SimSubnet {
  const r = parseSubnetId(ref);
  const notFound = () =>
    new ArmError(
      400,
      'InvalidResourceReference',
      `Resource ${ref} referenced by resource ${world.nicArmId(nic)} was not found. ` +
        'Please make sure that the referenced resource exists, and that both resources are in the same region.',
    );
  if (!r || !sameId(r.subscription, world.scope.subscription) || !sameId(r.resourceGroup, world.scope.resourceGroup))
    throw notFound();
  const s = world.subnet(r.vnet, r.name);
  if (!s) throw notFound();
  return s;
}

/** Azure's own checks of a static address, with its codes (cloud-apis.md §4.6). */
function checkStatic(subnet: SimSubnet, ip: string, name: string): void {
  const b = parseBlock(subnet.cidr)!;
  const a = parseBlock(ip)!;
  if (a.start < b.start || a.start >= b.start + BigInt(b.size)) {
    throw bad(
      `Private static IP address ${ip} of IP configuration ${name} ` +
        `does not belong to the range of subnet prefix ${subnet.cidr}.`,
      'PrivateIPAddressNotInSubnet',
    );
  }
  const off = Number(a.start - b.start);
  if (off < 4 || off === b.size - 1) {
    throw bad(
      `Private static IP address ${ip} falls within reserved IP range of subnet prefix ${subnet.cidr}.`,
      'PrivateIPAddressInReservedRange',
    );
  }
}

function subnetFull(world: AzureWorld, subnet: SimSubnet, count: number): ArmError {
  return bad(
    `Subnet ${subnet.tags[TAG.name]} with address prefix ${subnet.cidr} ` +
      `does not have enough capacity for ${count} IP addresses.`,
    world.cloud.errorCodes.subnetFull,
  );
}

/**
 * Takes the plan's addresses from the NIC's subnet in the SimCloud, all or
 * nothing (the plan is in that one subnet: {@link planNicPut}). Returns the
 * tag values (name → ip); on any failure gives back what it took and throws
 * the ARM error.
 */
export function allocate(world: AzureWorld, nic: SimInterface, plan: NicPutPlan): Record<string, string> {
  const cloud = world.cloud;
  const undo: Array<() => void> = [];
  const out: Record<string, string> = {};
  const subnet = world.subnetById(nic.subnetId);
  try {
    const statics = plan.add.filter((s) => s.ip !== undefined);
    const dynamics = plan.add.filter((s) => s.ip === undefined);
    if (statics.length) {
      const ips = statics.map((s) => s.ip!);
      cloud.assignPrivateIps(nic.id, { ips });
      undo.push(() => cloud.unassignPrivateIps(nic.id, ips));
      for (const s of statics) out[s.name] = s.ip!;
    }
    if (dynamics.length) {
      const free = cloud.getSubnet(subnet.id).availableAddresses;
      if (free < dynamics.length) throw subnetFull(world, subnet, dynamics.length);
      const ips = cloud.assignPrivateIps(nic.id, { count: dynamics.length });
      undo.push(() => cloud.unassignPrivateIps(nic.id, ips));
      dynamics.forEach((s, i) => (out[s.name] = ips[i]!));
    }
    return out;
  } catch (err) {
    for (const u of undo.reverse()) u();
    const full = CloudError.isCloud(err) && err.cloudCode === world.cloud.errorCodes.subnetFull;
    if (full) throw subnetFull(world, subnet, plan.add.length);
    throw err;
  }
}

/**
 * Gives an ipConfiguration's address back to its subnet (a removal that has
 * taken effect); also the other-subnet reservations of a world saved before
 * the one-subnet rule.
 */
export function release(world: AzureWorld, nic: SimInterface, tagValue: string): void {
  const { ip, subnet } = parseIpcTag(tagValue, nic.subnetId);
  const cloud = world.cloud;
  if (subnet === nic.subnetId) {
    if (cloud.getInterface(nic.id).privateIps.includes(ip)) cloud.unassignPrivateIps(nic.id, [ip]);
    return;
  }
  const r = cloud.describeReservations(subnet).find((x) => x.cidr === `${ip}/32` && x.type === 'blocked');
  if (r) cloud.releaseReservation(r.id);
}

export function ipcTags(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([name, v]) => [`${TAG.ipcPrefix}${name}`, v]));
}

export type { IpcRecord };
