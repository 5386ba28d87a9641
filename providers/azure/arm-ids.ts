/**
 * @module azure ARM ids
 * Building and parsing Azure Resource Manager ids and the two MAC spellings
 * (ARM `00-0D-3A-00-00-01`, IMDS `000D3A000001`). Shared by the adapter and
 * the emulator so both read ids the same way. ARM compares ids
 * case-insensitively; so does everything here.
 */

export interface NicRef {
  subscription: string;
  resourceGroup: string;
  name: string;
  /**
   * Set for a uniform scale-set VM's NIC
   * (`…/virtualMachineScaleSets/{vmss}/virtualMachines/{i}/networkInterfaces/{nic}`).
   */
  vmss?: { name: string; instanceId: string };
}

export interface SubnetRef {
  subscription: string;
  resourceGroup: string;
  vnet: string;
  name: string;
}

export function rgPath(sub: string, rg: string): string {
  return `/subscriptions/${sub}/resourceGroups/${rg}`;
}

/** A scale-set VM under a resource group path. */
function vmssVmPath(base: string, vmss: { name: string; instanceId: string }): string {
  return `${base}/providers/Microsoft.Compute/virtualMachineScaleSets/${vmss.name}/virtualMachines/${vmss.instanceId}`;
}

export function nicId(ref: NicRef): string {
  const base = rgPath(ref.subscription, ref.resourceGroup);
  if (ref.vmss) {
    return `${vmssVmPath(base, ref.vmss)}/networkInterfaces/${ref.name}`;
  }
  return `${base}/providers/Microsoft.Network/networkInterfaces/${ref.name}`;
}

export function subnetId(ref: SubnetRef): string {
  return `${vnetId(ref.subscription, ref.resourceGroup, ref.vnet)}/subnets/${ref.name}`;
}

export function vnetId(sub: string, rg: string, vnet: string): string {
  return `${rgPath(sub, rg)}/providers/Microsoft.Network/virtualNetworks/${vnet}`;
}

export function vmId(sub: string, rg: string, vm: string, vmss?: { name: string; instanceId: string }): string {
  if (vmss) return vmssVmPath(rgPath(sub, rg), vmss);
  return `${rgPath(sub, rg)}/providers/Microsoft.Compute/virtualMachines/${vm}`;
}

/** `/subscriptions/{sub}/resourceGroups/{rg}/providers/`, capturing sub and rg, anchored at the start. */
const RG_PREFIX = String.raw`^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/`;
/** A uniform scale-set VM, capturing the scale set and the instance id. */
const VMSS_VM = String.raw`Microsoft\.Compute/virtualMachineScaleSets/([^/]+)/virtualMachines/([^/]+)`;
/** An id under a resource group: the prefix, then one of `tails`, to the end; case-insensitive, as ARM is. */
const armIdPattern = (...tails: string[]) => new RegExp(`${RG_PREFIX}(?:${tails.join('|')})$`, 'i');

const NIC_RE = armIdPattern(
  String.raw`Microsoft\.Network/networkInterfaces/([^/]+)`,
  `${VMSS_VM}/networkInterfaces/([^/]+)`,
);
const SUBNET_RE = armIdPattern(String.raw`Microsoft\.Network/virtualNetworks/([^/]+)/subnets/([^/]+)`);
const VM_RE = armIdPattern(String.raw`Microsoft\.Compute/virtualMachines/([^/]+)`, VMSS_VM);

export function parseNicId(id: string): NicRef | undefined {
  const m = NIC_RE.exec(id);
  if (!m) return undefined;
  if (m[3]) return { subscription: m[1]!, resourceGroup: m[2]!, name: m[3] };
  return { subscription: m[1]!, resourceGroup: m[2]!, name: m[6]!, vmss: { name: m[4]!, instanceId: m[5]! } };
}

export function parseSubnetId(id: string): SubnetRef | undefined {
  const m = SUBNET_RE.exec(id);
  return m ? { subscription: m[1]!, resourceGroup: m[2]!, vnet: m[3]!, name: m[4]! } : undefined;
}

export interface VmRef {
  subscription: string;
  resourceGroup: string;
  /** VM name, or `{vmss}_{instanceId}` for a uniform scale-set VM. */
  name: string;
  vmss?: { name: string; instanceId: string };
}

export function parseVmId(id: string): VmRef | undefined {
  const m = VM_RE.exec(id);
  if (!m) return undefined;
  if (m[3]) return { subscription: m[1]!, resourceGroup: m[2]!, name: m[3] };
  return {
    subscription: m[1]!,
    resourceGroup: m[2]!,
    name: `${m[4]}_${m[5]}`,
    vmss: { name: m[4]!, instanceId: m[5]! },
  };
}

export function sameId(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

/** Any MAC spelling → lower-case colon form (`00:0d:3a:00:00:01`), or undefined. */
export function normalizeMac(mac: string): string | undefined {
  const hex = mac.replace(/[-:.]/g, '').toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(hex)) return undefined;
  return hex.match(/../g)!.join(':');
}

/** ARM spelling: `00-0D-3A-00-00-01`. */
export function armMac(mac: string): string {
  return (normalizeMac(mac) ?? mac).toUpperCase().replace(/:/g, '-');
}

/** IMDS spelling: `000D3A000001`. */
export function imdsMac(mac: string): string {
  return (normalizeMac(mac) ?? mac).toUpperCase().replace(/:/g, '');
}
