/**
 * @module sim actions
 * Names of the cloud API actions the sim counts, delays, throttles and fails.
 * They are EC2's action names because EC2 is the flavour the sim models by
 * default; the HTTP emulators map their own operations onto these.
 */

export const SIM_ACTIONS = [
  'DescribeInstances',
  'DescribeNetworkInterfaces',
  'DescribeSubnets',
  'DescribeVpcs',
  'DescribeInstanceTypes',
  'CreateNetworkInterface',
  'AttachNetworkInterface',
  'ModifyNetworkInterfaceAttribute',
  'DetachNetworkInterface',
  'DeleteNetworkInterface',
  'AssignPrivateIpAddresses',
  'UnassignPrivateIpAddresses',
  'CreateTags',
  'DeleteTags',
  'CreateSubnetCidrReservation',
  'DeleteSubnetCidrReservation',
] as const;

export type SimAction = (typeof SIM_ACTIONS)[number];

/** Actions that change the cloud; the provider fires `onMutate` after each success. */
export const MUTATING_ACTIONS: ReadonlySet<SimAction> = new Set<SimAction>([
  'CreateNetworkInterface',
  'AttachNetworkInterface',
  'ModifyNetworkInterfaceAttribute',
  'DetachNetworkInterface',
  'DeleteNetworkInterface',
  'AssignPrivateIpAddresses',
  'UnassignPrivateIpAddresses',
  'CreateTags',
  'DeleteTags',
  'CreateSubnetCidrReservation',
  'DeleteSubnetCidrReservation',
]);
