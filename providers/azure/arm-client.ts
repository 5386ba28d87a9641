/**
 * @module azure ARM client
 * The ARM calls the adapter makes, through `@azure/arm-network`, each
 * wrapped so that whatever fails comes out as a typed error (mapped once, in
 * `errors.ts`). Nothing here decides anything: `azure-provider.ts` does.
 *
 * Client set-up (cloud-apis.md §4.1): `endpoint` (not `$host`) points the
 * SDK at ARM or the emulator; the SDK's own retries are off
 * (`maxRetries: 0`) so that the daemon's CloudCaller is the one retry layer,
 * on its clock, honouring Retry-After; plain HTTP is allowed only to
 * loopback, with the bearer policy swapped for one that works over HTTP.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { NetworkInterface as ArmNic, NetworkManagementClient, Subnet as ArmSubnet, VirtualNetworkUsage } from '@azure/arm-network';
import { parseNicId, parseSubnetId, type NicRef } from './arm-ids.js';
import { isLoopbackUrl, loopbackBearerPolicy } from './credential.js';
import { mapAzureError, type LroFailure } from './errors.js';

export interface ArmClientOptions {
  endpoint: string;
  subscriptionId: string;
  credential: TokenCredential;
  lroPollIntervalMs: number;
  now: () => number;
}

export type { ArmNic, ArmSubnet };

function lroFailureOf(body: unknown): LroFailure | undefined {
  const e = (body as { status?: string; error?: { code?: unknown; message?: unknown } } | undefined) ?? undefined;
  if (e?.status !== 'Failed' || typeof e.error?.code !== 'string') return undefined;
  return { code: e.error.code, message: typeof e.error.message === 'string' ? e.error.message : '' };
}

export class ArmClient {
  private constructor(
    private readonly net: NetworkManagementClient,
    private readonly o: ArmClientOptions,
  ) {}

  static async create(o: ArmClientOptions): Promise<ArmClient> {
    const { NetworkManagementClient } = await import('@azure/arm-network');
    const insecure = o.endpoint.startsWith('http:');
    if (insecure && !isLoopbackUrl(o.endpoint)) throw new Error(`refusing plain http to a non-loopback ARM endpoint ${o.endpoint}`);
    const net = new NetworkManagementClient(o.credential, o.subscriptionId, {
      endpoint: o.endpoint,
      allowInsecureConnection: insecure,
      retryOptions: { maxRetries: 0 },
    });
    if (insecure) {
      net.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
      net.pipeline.addPolicy(loopbackBearerPolicy(o.credential, `${o.endpoint}/.default`) as never, { phase: 'Sign' });
    }
    return new ArmClient(net, o);
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
        ? this.net.networkInterfaces.getVirtualMachineScaleSetNetworkInterface(r.resourceGroup, r.vmss.name, r.vmss.instanceId, r.name)
        : this.net.networkInterfaces.get(r.resourceGroup, r.name),
    );
  }

  /** NICs of a plain VM (listed per resource group and matched on `virtualMachine.id`) or of a scale-set VM. */
  listVmNics(resourceGroup: string, vmss?: { name: string; instanceId: string }): Promise<ArmNic[]> {
    return this.call('networkInterfaces.list', async () => {
      const out: ArmNic[] = [];
      const it = vmss
        ? this.net.networkInterfaces.listVirtualMachineScaleSetVMNetworkInterfaces(resourceGroup, vmss.name, vmss.instanceId)
        : this.net.networkInterfaces.list(resourceGroup);
      for await (const n of it) out.push(n);
      return out;
    });
  }

  /**
   * PUT the whole NIC with `If-Match: etag` and wait for its long-running
   * operation. The last response body is captured so that a failed
   * operation's `{error:{code,message}}` reaches the error mapping intact.
   */
  async putNic(id: string, nic: ArmNic, etag: string | undefined): Promise<ArmNic> {
    const r = mustNic(id);
    if (r.vmss) throw mapAzureError({ name: 'RestError', statusCode: 400, code: 'OperationNotSupported', message: `${id}: a uniform scale-set NIC is changed through its VM model` }, 'networkInterfaces.createOrUpdate');
    let last: unknown;
    try {
      return await this.net.networkInterfaces.beginCreateOrUpdateAndWait(r.resourceGroup, r.name, nic, {
        updateIntervalInMs: this.o.lroPollIntervalMs,
        ...(etag ? { requestOptions: { customHeaders: { 'If-Match': etag } } } : {}),
        onResponse: (raw) => {
          last = raw.parsedBody;
        },
      });
    } catch (err) {
      throw mapAzureError(err, 'networkInterfaces.createOrUpdate', lroFailureOf(last), this.o.now());
    }
  }

  getSubnet(id: string, expandIpConfigurations = false): Promise<ArmSubnet> {
    const r = mustSubnet(id);
    return this.call('subnets.get', () => this.net.subnets.get(r.resourceGroup, r.vnet, r.name, expandIpConfigurations ? { expand: 'ipConfigurations' } : {}));
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
  if (!r) throw mapAzureError({ name: 'RestError', statusCode: 400, code: 'InvalidRequestFormat', message: `not a NIC id: ${id}` }, 'networkInterfaces');
  return r;
}

function mustSubnet(id: string) {
  const r = parseSubnetId(id);
  if (!r) throw mapAzureError({ name: 'RestError', statusCode: 400, code: 'InvalidRequestFormat', message: `not a subnet id: ${id}` }, 'subnets');
  return r;
}
