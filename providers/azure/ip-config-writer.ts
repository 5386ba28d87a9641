/**
 * @module azure ip-config writer
 * {@link IpConfigWriter}: how the Azure adapter adds and removes a NIC's secondary ipConfigurations. Each
 * change reads the whole NIC, computes its replacement and PUTs it back with `If-Match: <etag>`, waiting for
 * the long-running operation (arm-client.ts). A 412 (the NIC changed since our GET) or 409 (another operation
 * in progress) is a ConflictError: the CloudCaller retries, which re-reads. Nothing is lost or duplicated:
 * every write is computed from a fresh read, and names we wrote but never reported (an ambiguous failure after
 * the PUT) are adopted by the next add instead of being asked for again.
 *
 * Writes to one NIC are serialised in-process, so the daemon never races itself; other writers are handled by
 * the etag.
 */
import { randomBytes } from 'node:crypto';
import { ConflictError, InvalidCloudRequestError, IpLimitError } from '../errors.js';
import type { AddressBlock, AssignRequest } from '../types.js';
import type { ArmClient, ArmNic, NewIpConfig } from './arm-client.js';

/** Azure: 256 IP configurations per NIC, the primary included (cloud-apis.md §4.3). */
export const AZURE_IPCONFIGS_PER_NIC = 256;
/** Prefix of the ipConfigurations this daemon creates. */
export const IPCONFIG_PREFIX = 'vpcipam-';

/** Refuses, before any call, what Azure would refuse or this adapter does not do (prefixes). */
export function checkAssignRequest(req: AssignRequest): void {
  if (req.kind !== 'ip') {
    throw new InvalidCloudRequestError({
      provider: 'azure',
      operation: 'assignAddresses',
      cloudCode: 'OperationNotSupported',
      message: 'Azure NICs take secondary IPs, not prefixes, here',
    });
  }
  const bad = (message: string) =>
    new InvalidCloudRequestError({
      provider: 'azure',
      operation: 'assignAddresses',
      cloudCode: 'InvalidRequestFormat',
      message,
    });
  if ((req.count === undefined) === (req.cidrs === undefined)) throw bad('give exactly one of count or cidrs');
  if (req.count !== undefined && (!Number.isInteger(req.count) || req.count < 0))
    throw bad(`count must be a whole number >= 0, got ${req.count}`);
  for (const c of req.cidrs ?? [])
    if (!/^\d{1,3}(\.\d{1,3}){3}(\/32)?$/.test(c)) throw bad(`not an IPv4 address or /32: ${c}`);
}

/** A NIC still applying an earlier change takes no other until it is done. */
function refuseIfUpdating(nic: ArmNic): void {
  if (nic.provisioningState !== 'Updating') return;
  throw new ConflictError({
    provider: 'azure',
    operation: 'networkInterfaces.createOrUpdate',
    cloudCode: 'AnotherOperationInProgress',
    message: `${nic.name} is being updated`,
  });
}

function ipBlock(c: { privateIPAddress?: string | undefined }): AddressBlock {
  return { cidr: `${c.privateIPAddress}/32`, kind: 'ip' };
}

export class IpConfigWriter {
  /** NIC id → names of ipConfigurations we PUT but have not reported as added yet. */
  private readonly unreported = new Map<string, Set<string>>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly arm: () => Promise<ArmClient>) {}

  /** Everything has been reported (describeNode), so nothing is left to adopt. */
  forgetUnreported(): void {
    this.unreported.clear();
  }

  /** Adds `req.count` Dynamic or the named Static ipConfigurations in the NIC's own subnet. */
  add(interfaceId: string, req: AssignRequest): Promise<AddressBlock[]> {
    return this.locked(interfaceId, async () => {
      const arm = await this.arm();
      const nic = await arm.getNic(interfaceId);
      const ipcs = nic.ipConfigurations ?? [];
      // Names from an earlier call whose outcome we never saw: count those that exist as added now.
      const pending = this.unreported.get(interfaceId) ?? new Set<string>();
      const adopted = ipcs.filter((c) => pending.has(c.name!) && c.provisioningState === 'Succeeded');
      for (const n of [...pending])
        if (!ipcs.some((c) => c.name === n && c.provisioningState !== 'Succeeded')) pending.delete(n);
      const adoptedBlocks = adopted.map(ipBlock);
      const have = new Set(ipcs.map((c) => c.privateIPAddress));
      const wanted = req.cidrs ? req.cidrs.map((c) => c.replace(/\/32$/, '')).filter((ip) => !have.has(ip)) : undefined;
      const want = wanted ? wanted.length : Math.max(0, (req.count ?? 0) - adopted.length);
      if (want === 0) return adoptedBlocks;
      refuseIfUpdating(nic);
      if (ipcs.length + want > AZURE_IPCONFIGS_PER_NIC) {
        throw new IpLimitError({
          provider: 'azure',
          operation: 'assignAddresses',
          cloudCode: 'NetworkInterfaceIpConfigurationCountLimitReached',
          message:
            `${nic.name} has ${ipcs.length} of ${AZURE_IPCONFIGS_PER_NIC} IP configurations; ` + `cannot add ${want}`,
        });
      }
      // The NIC's own subnet: Azure refuses ipConfigurations of one NIC in two subnets.
      const primary = ipcs.find((c) => c.primary) ?? ipcs[0];
      const subnet = { id: primary?.subnet?.id ?? '' };
      const names = Array.from({ length: want }, () => `${IPCONFIG_PREFIX}${randomBytes(5).toString('hex')}`);
      const add = names.map((name, i): NewIpConfig => ({
        name,
        primary: false,
        subnet,
        ...(wanted
          ? { privateIPAllocationMethod: 'Static', privateIPAddress: wanted[i] }
          : { privateIPAllocationMethod: 'Dynamic' }),
      }));
      for (const n of names) pending.add(n);
      this.unreported.set(interfaceId, pending);
      const after = await arm.updateIpConfigs(interfaceId, nic, { add, remove: [] });
      const mine = new Set(names);
      const done = (after.ipConfigurations ?? []).filter(
        (c) => mine.has(c.name!) && c.provisioningState === 'Succeeded' && c.privateIPAddress,
      );
      for (const c of done) pending.delete(c.name!);
      return [...adoptedBlocks, ...done.map(ipBlock)];
    });
  }

  /** Removes the secondary ipConfigurations holding the addresses in `drop` (dotted form). */
  remove(interfaceId: string, drop: Set<string>): Promise<void> {
    return this.locked(interfaceId, async () => {
      const arm = await this.arm();
      const nic = await arm.getNic(interfaceId);
      const ipcs = nic.ipConfigurations ?? [];
      const keep = ipcs.filter((c) => c.primary || !drop.has(c.privateIPAddress ?? ''));
      if (keep.length === ipcs.length) return; // already gone
      refuseIfUpdating(nic);
      const remove = ipcs.filter((c) => !keep.includes(c)).map((c) => c.name!);
      await arm.updateIpConfigs(interfaceId, nic, { add: [], remove });
      const pending = this.unreported.get(interfaceId);
      for (const n of remove) pending?.delete(n);
    });
  }

  /** Runs `fn` after every earlier call on the same NIC has finished. */
  private locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run;
  }
}
