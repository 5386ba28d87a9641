/**
 * @module azure ARM client
 * The ARM calls the adapter makes, through `@azure/arm-network` (and
 * `@azure/arm-compute` for uniform scale-set VMs, loaded only then), each
 * wrapped so that whatever fails comes out as a typed error (mapped once, in
 * `errors.ts`). Nothing here decides anything: `azure-provider.ts` does.
 *
 * Client set-up (cloud-apis.md §4.1): `endpoint` (not `$host`) points the
 * SDK at ARM or the emulator; the SDK's own retries are off
 * (`maxRetries: 0`) so that the daemon's CloudCaller is the one retry layer,
 * on its clock, honouring Retry-After; plain HTTP is allowed only to
 * loopback, with the bearer policy swapped for one that works over HTTP.
 * Long-running operations are polled on the daemon's clock at the server's
 * Retry-After (`lro-wait.ts`), not on core-lro's own timer.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { ComputeManagementClient } from '@azure/arm-compute';
import type {
  NetworkInterface as ArmNic,
  NetworkManagementClient,
  Subnet as ArmSubnet,
  VirtualNetworkUsage,
} from '@azure/arm-network';
import { nicId, parseNicId, parseSubnetId, type NicRef } from './arm-ids.js';
import { isLoopbackUrl, loopbackBearerPolicy } from './credential.js';
import { mapAzureError, type LroFailure } from './errors.js';
import { waitForOperation, type LatestHeaders } from './lro-wait.js';

export interface ArmClientOptions {
  endpoint: string;
  subscriptionId: string;
  credential: TokenCredential;
  /** Wait between polls when the server sends no Retry-After. */
  lroPollIntervalMs: number;
  now: () => number;
  /** Waits between polls of a long-running operation (the daemon's clock). */
  sleep: (ms: number) => Promise<void>;
}

/** The last response of a call, as `onResponse` sees it: its body (a failed operation's error) and headers. */
interface Seen {
  body?: unknown;
  headers?: LatestHeaders;
}

function onResponse(seen: Seen) {
  return (raw: { parsedBody?: unknown; headers: { get(name: string): string | undefined } }) => {
    seen.body = raw.parsedBody;
    seen.headers = raw.headers;
  };
}

export type { ArmNic, ArmSubnet };

function lroFailureOf(body: unknown): LroFailure | undefined {
  const e = (body as { status?: string; error?: { code?: unknown; message?: unknown } } | undefined) ?? undefined;
  if (e?.status !== 'Failed' || typeof e.error?.code !== 'string') return undefined;
  return { code: e.error.code, message: typeof e.error.message === 'string' ? e.error.message : '' };
}

/** New ipConfigurations for {@link ArmClient.updateIpConfigs}. */
export interface NewIpConfig {
  name: string;
  primary: false;
  subnet: { id: string };
  privateIPAllocationMethod: 'Dynamic' | 'Static';
  privateIPAddress?: string;
}

export interface IpConfigChange {
  add: NewIpConfig[];
  /** Names of ipConfigurations to delete. */
  remove: string[];
}

function clientOptions(o: ArmClientOptions) {
  const insecure = o.endpoint.startsWith('http:');
  if (insecure && !isLoopbackUrl(o.endpoint))
    throw new Error(`refusing plain http to a non-loopback ARM endpoint ${o.endpoint}`);
  return { endpoint: o.endpoint, allowInsecureConnection: insecure, retryOptions: { maxRetries: 0 } };
}

/** Plain HTTP (loopback emulator only): swap the SDK's bearer policy for one that works over HTTP. */
function configure<
  T extends {
    pipeline: { removePolicy(p: { name: string }): unknown; addPolicy(p: never, o: { phase: 'Sign' }): void };
  },
>(client: T, o: ArmClientOptions): T {
  if (o.endpoint.startsWith('http:')) {
    client.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
    client.pipeline.addPolicy(loopbackBearerPolicy(o.credential, `${o.endpoint}/.default`) as never, { phase: 'Sign' });
  }
  return client;
}

export class ArmClient {
  private compute: ComputeManagementClient | undefined;

  private constructor(
    private readonly net: NetworkManagementClient,
    private readonly o: ArmClientOptions,
  ) {}

  static async create(o: ArmClientOptions): Promise<ArmClient> {
    const { NetworkManagementClient } = await import('@azure/arm-network');
    return new ArmClient(
      configure(new NetworkManagementClient(o.credential, o.subscriptionId, clientOptions(o)), o),
      o,
    );
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw mapAzureError(err, operation, undefined, this.o.now());
    }
  }

  /** GET a NIC by ARM id: the Network RP path, or the scale-set path for a uniform VMSS instance. */
  getNic(id: string): Promise<ArmNic> {
    const r = mustNic(id);
    return this.call('networkInterfaces.get', () =>
      r.vmss
        ? this.net.networkInterfaces.getVirtualMachineScaleSetNetworkInterface(
            r.resourceGroup,
            r.vmss.name,
            r.vmss.instanceId,
            r.name,
          )
        : this.net.networkInterfaces.get(r.resourceGroup, r.name),
    );
  }

  /** NICs of a plain VM (listed per resource group and matched on `virtualMachine.id`) or of a scale-set VM. */
  listVmNics(resourceGroup: string, vmss?: { name: string; instanceId: string }): Promise<ArmNic[]> {
    return this.call('networkInterfaces.list', async () => {
      const out: ArmNic[] = [];
      const it = vmss
        ? this.net.networkInterfaces.listVirtualMachineScaleSetVMNetworkInterfaces(
            resourceGroup,
            vmss.name,
            vmss.instanceId,
          )
        : this.net.networkInterfaces.list(resourceGroup);
      for await (const n of it) out.push(n);
      return out;
    });
  }

  /**
   * Read-modify-write of a NIC's ipConfigurations: keep `nic`'s list minus
   * `change.remove` (names), append `change.add`, and wait for the
   * long-running operation. `nic` must be a fresh GET: its etag guards the
   * write (`If-Match`), so a change by someone else in between is a 412.
   *
   * A plain VM's NIC is PUT whole through the Network RP. A uniform scale-set
   * VM's NIC cannot be written there: its ipConfigurations live in the VM's
   * model (`networkProfileConfiguration`), which is read, changed the same
   * way and PUT through the Compute RP with the VM's etag (as Cilium's Azure
   * IPAM does); the NIC is then read back for the addresses.
   *
   * The last response body is captured so that a failed operation's
   * `{error:{code,message}}` reaches the error mapping intact.
   */
  async updateIpConfigs(id: string, nic: ArmNic, change: IpConfigChange): Promise<ArmNic> {
    const r = mustNic(id);
    if (r.vmss) return this.updateScaleSetVm(r, change);
    const drop = new Set(change.remove);
    const ipConfigurations = [
      ...(nic.ipConfigurations ?? []).filter((c) => !drop.has(c.name!)),
      ...change.add.map((a) => ({ ...a, privateIPAddressVersion: 'IPv4' })),
    ];
    const operation = 'networkInterfaces.createOrUpdate';
    const seen: Seen = {};
    try {
      const body = { ...nic, ipConfigurations };
      const poller = await this.net.networkInterfaces.beginCreateOrUpdate(r.resourceGroup, r.name, body, {
        updateIntervalInMs: this.o.lroPollIntervalMs,
        ...(nic.etag ? { requestOptions: { customHeaders: { 'If-Match': nic.etag } } } : {}),
        onResponse: onResponse(seen),
      });
      return await this.wait(poller, seen);
    } catch (err) {
      throw mapAzureError(err, operation, lroFailureOf(seen.body), this.o.now());
    }
  }

  private wait<T>(poller: Parameters<typeof waitForOperation<T>>[0], seen: Seen): Promise<T> {
    const o = this.o;
    return waitForOperation(poller, {
      latest: () => seen.headers,
      defaultMs: o.lroPollIntervalMs,
      now: o.now,
      sleep: o.sleep,
    });
  }

  private async updateScaleSetVm(r: NicRef, change: IpConfigChange): Promise<ArmNic> {
    const vmss = r.vmss!;
    const compute = await this.computeClient();
    const vm = await this.call('virtualMachineScaleSetVMs.get', () =>
      compute.virtualMachineScaleSetVMs.get(r.resourceGroup, vmss.name, vmss.instanceId),
    );
    const configs = vm.networkProfileConfiguration?.networkInterfaceConfigurations ?? [];
    const cfg =
      configs.find((c) => c.name.toLowerCase() === r.name.toLowerCase()) ??
      (configs.length === 1 ? configs[0] : undefined);
    if (!cfg) {
      throw mapAzureError(
        {
          name: 'RestError',
          statusCode: 404,
          code: 'NotFound',
          message: `scale-set VM ${vmss.name}/${vmss.instanceId} has no network configuration ${r.name}`,
        },
        'virtualMachineScaleSetVMs.update',
      );
    }
    if (change.add.some((a) => a.privateIPAllocationMethod === 'Static')) {
      throw mapAzureError(
        {
          name: 'RestError',
          statusCode: 400,
          code: 'OperationNotSupported',
          message: 'scale-set VM ipConfigurations cannot take static addresses',
        },
        'virtualMachineScaleSetVMs.update',
      );
    }
    const drop = new Set(change.remove);
    cfg.ipConfigurations = [
      ...(cfg.ipConfigurations ?? []).filter((c) => !drop.has(c.name)),
      ...change.add.map((a) => ({
        name: a.name,
        primary: false,
        privateIPAddressVersion: 'IPv4',
        subnet: { id: a.subnet.id },
      })),
    ];
    // Images from a Compute Gallery make the PUT need gallery permissions (Azure/AKS#1819, cilium#19695).
    if (vm.storageProfile?.imageReference) vm.storageProfile.imageReference = undefined;
    const operation = 'virtualMachineScaleSetVMs.update';
    const seen: Seen = {};
    try {
      const vms = compute.virtualMachineScaleSetVMs;
      const poller = await vms.beginUpdate(r.resourceGroup, vmss.name, vmss.instanceId, vm, {
        updateIntervalInMs: this.o.lroPollIntervalMs,
        ...(vm.etag ? { ifMatch: vm.etag } : {}),
        onResponse: onResponse(seen),
      });
      await this.wait(poller, seen);
    } catch (err) {
      throw mapAzureError(err, operation, lroFailureOf(seen.body), this.o.now());
    }
    return this.getNic(nicId(r));
  }

  private async computeClient(): Promise<ComputeManagementClient> {
    if (!this.compute) {
      const { ComputeManagementClient } = await import('@azure/arm-compute');
      this.compute = configure(
        new ComputeManagementClient(this.o.credential, this.o.subscriptionId, clientOptions(this.o)),
        this.o,
      );
    }
    return this.compute;
  }

  getSubnet(id: string, expandIpConfigurations = false): Promise<ArmSubnet> {
    const r = mustSubnet(id);
    return this.call('subnets.get', () =>
      this.net.subnets.get(
        r.resourceGroup,
        r.vnet,
        r.name,
        expandIpConfigurations ? { expand: 'ipConfigurations' } : {},
      ),
    );
  }

  listSubnets(vnetRg: string, vnet: string): Promise<ArmSubnet[]> {
    return this.call('subnets.list', async () => {
      const out: ArmSubnet[] = [];
      for await (const s of this.net.subnets.list(vnetRg, vnet)) out.push(s);
      return out;
    });
  }

  listUsage(vnetRg: string, vnet: string): Promise<VirtualNetworkUsage[]> {
    return this.call('virtualNetworks.listUsage', async () => {
      const out: VirtualNetworkUsage[] = [];
      for await (const u of this.net.virtualNetworks.listUsage(vnetRg, vnet)) out.push(u);
      return out;
    });
  }

  async vnetPrefixes(vnetRg: string, vnet: string): Promise<string[]> {
    const v = await this.call('virtualNetworks.get', () => this.net.virtualNetworks.get(vnetRg, vnet));
    return v.addressSpace?.addressPrefixes ?? [];
  }
}

function mustNic(id: string): NicRef {
  const r = parseNicId(id);
  if (!r)
    throw mapAzureError(
      { name: 'RestError', statusCode: 400, code: 'InvalidRequestFormat', message: `not a NIC id: ${id}` },
      'networkInterfaces',
    );
  return r;
}

function mustSubnet(id: string) {
  const r = parseSubnetId(id);
  if (!r)
    throw mapAzureError(
      { name: 'RestError', statusCode: 400, code: 'InvalidRequestFormat', message: `not a subnet id: ${id}` },
      'subnets',
    );
  return r;
}
