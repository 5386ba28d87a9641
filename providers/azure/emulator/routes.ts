/**
 * @module azure emulator routes
 * The ARM paths the emulator answers, each with the action name the FaultInjector, the request log and the
 * tests know it by (server.ts describes what each route does).
 */
export const AZURE_ACTIONS = [
  'GetNetworkInterface',
  'PutNetworkInterface',
  'ListNetworkInterfaces',
  'GetVirtualNetwork',
  'GetSubnet',
  'ListSubnets',
  'ListUsages',
  'GetVirtualMachineScaleSetVM',
  'PutVirtualMachineScaleSetVM',
  'GetVirtualMachine',
  'PutVirtualMachine',
  'GetOperation',
  'CompleteOperation',
  'GetMetadata',
] as const;
export type AzureAction = (typeof AZURE_ACTIONS)[number];

const SUB = '/subscriptions/([^/]+)';
const RG = `${SUB}/resourceGroups/([^/]+)/providers`;
const vmRoute = new RegExp(`^${RG}/Microsoft\\.Compute/virtualMachines/([^/]+)$`, 'i');
export const ROUTES: Array<{ method: string; re: RegExp; action: AzureAction; name: string }> = [
  {
    method: 'GET',
    re: new RegExp(`^${RG}/Microsoft\\.Network/networkInterfaces/([^/]+)$`, 'i'),
    action: 'GetNetworkInterface',
    name: 'nic',
  },
  {
    method: 'PUT',
    re: new RegExp(`^${RG}/Microsoft\\.Network/networkInterfaces/([^/]+)$`, 'i'),
    action: 'PutNetworkInterface',
    name: 'nic',
  },
  {
    method: 'GET',
    re: new RegExp(`^${RG}/Microsoft\\.Network/networkInterfaces$`, 'i'),
    action: 'ListNetworkInterfaces',
    name: 'nics',
  },
  {
    method: 'GET',
    re: new RegExp(
      `^${RG}/Microsoft\\.Compute/virtualMachineScaleSets/([^/]+)/virtualMachines/([^/]+)/networkInterfaces/([^/]+)$`,
      'i',
    ),
    action: 'GetNetworkInterface',
    name: 'vmssNic',
  },
  {
    method: 'GET',
    re: new RegExp(
      `^${RG}/Microsoft\\.Compute/virtualMachineScaleSets/([^/]+)/virtualMachines/([^/]+)/networkInterfaces$`,
      'i',
    ),
    action: 'ListNetworkInterfaces',
    name: 'vmssNics',
  },
  {
    method: 'GET',
    re: new RegExp(`^${RG}/Microsoft\\.Network/virtualNetworks/([^/]+)$`, 'i'),
    action: 'GetVirtualNetwork',
    name: 'vnet',
  },
  {
    method: 'GET',
    re: new RegExp(`^${RG}/Microsoft\\.Network/virtualNetworks/([^/]+)/subnets$`, 'i'),
    action: 'ListSubnets',
    name: 'subnets',
  },
  {
    method: 'GET',
    re: new RegExp(`^${RG}/Microsoft\\.Network/virtualNetworks/([^/]+)/subnets/([^/]+)$`, 'i'),
    action: 'GetSubnet',
    name: 'subnet',
  },
  {
    method: 'GET',
    re: new RegExp(`^${RG}/Microsoft\\.Network/virtualNetworks/([^/]+)/usages$`, 'i'),
    action: 'ListUsages',
    name: 'usages',
  },
  {
    method: 'GET',
    re: new RegExp(`^${RG}/Microsoft\\.Compute/virtualMachineScaleSets/([^/]+)/virtualMachines/([^/]+)$`, 'i'),
    action: 'GetVirtualMachineScaleSetVM',
    name: 'vmssVm',
  },
  {
    method: 'PUT',
    re: new RegExp(`^${RG}/Microsoft\\.Compute/virtualMachineScaleSets/([^/]+)/virtualMachines/([^/]+)$`, 'i'),
    action: 'PutVirtualMachineScaleSetVM',
    name: 'vmssVm',
  },
  { method: 'GET', re: vmRoute, action: 'GetVirtualMachine', name: 'vm' },
  { method: 'PUT', re: vmRoute, action: 'PutVirtualMachine', name: 'vm' },
  { method: 'PATCH', re: vmRoute, action: 'PutVirtualMachine', name: 'vm' },
  {
    method: 'GET',
    re: new RegExp(`^${SUB}/providers/Microsoft\\.(?:Network|Compute)/locations/([^/]+)/operations/([^/]+)$`, 'i'),
    action: 'GetOperation',
    name: 'operation',
  },
];
