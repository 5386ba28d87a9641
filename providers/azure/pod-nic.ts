/**
 * @module azure Pod NIC
 * Which NIC of the VM carries the Pods' addresses. Azure keeps every
 * ipConfiguration of a NIC in one subnet (400
 * `IpConfigurationsOnSameNicCannotUseDifferentSubnets`) and cannot attach a
 * NIC to a running VM (400
 * `AddingOrDeletingNetworkInterfacesOnARunningVirtualMachineNotSupported`), so
 * Pods in a subnet other than the node's can only get addresses from a NIC
 * the VM was created with in that subnet. The Pod NIC is:
 *
 * 1. with `AZURE_POD_SUBNET_ID`: the NIC whose ipConfigurations are in that
 *    subnet (the one tagged `vpc-ipam.io/pod-nic=true` if several are, else
 *    the lowest device index); none is a ConfigError naming what the node
 *    pool must provide. A tagged NIC in another subnet is a ConfigError too
 *    (the two settings disagree);
 * 2. without it: the one NIC tagged `vpc-ipam.io/pod-nic=true` (its subnet is
 *    then the Pod subnet); several tagged NICs are a ConfigError;
 * 3. neither: none. Pods get addresses of every NIC, in its own subnet.
 *
 * With a Pod NIC, the VM's other NICs are reported `excluded`, so no Pod
 * address comes from them. See docs/azure.md, "Pod subnet".
 */
import type { NetworkInterface as ArmNic } from '@azure/arm-network';
import { ConfigError } from '../errors.js';
import { sameId } from './arm-ids.js';

/** Tag that marks the NIC created for Pods. */
export const POD_NIC_TAG = 'vpc-ipam.io/pod-nic';

const HOW =
  'Azure keeps all ipConfigurations of a NIC in one subnet and cannot attach a NIC to a running VM, so the node pool ' +
  'must create every VM (or the scale set model) with a second NIC in the Pod subnet, tagged ' +
  `${POD_NIC_TAG}=true; see docs/azure.md`;

function subnetOf(nic: ArmNic): string | undefined {
  const ipcs = nic.ipConfigurations ?? [];
  return (ipcs.find((c) => c.primary) ?? ipcs[0])?.subnet?.id;
}

const tagged = (nic: ArmNic) => nic.tags?.[POD_NIC_TAG] === 'true';

/**
 * The Pod NIC's id among the VM's NICs (primary first, in device order), or
 * undefined when Pods use every NIC. Throws ConfigError when the settings
 * cannot be met; `vm` names the VM in messages.
 */
export function choosePodNic(nics: ArmNic[], podSubnetId: string | undefined, vm: string): string | undefined {
  const marked = nics.filter(tagged);
  if (podSubnetId === undefined) {
    if (marked.length > 1) {
      const names = marked.map((n) => n.name).join(', ');
      throw new ConfigError(POD_NIC_TAG, `is true on ${marked.length} NICs of ${vm} (${names}); tag exactly one`);
    }
    return marked[0]?.id;
  }
  const wrong = marked.find((n) => !sameId(subnetOf(n), podSubnetId));
  if (wrong) {
    const why = `${wrong.name} is tagged ${POD_NIC_TAG}=true but is in ${subnetOf(wrong)}, not in ${podSubnetId}`;
    throw new ConfigError('AZURE_POD_SUBNET_ID', why);
  }
  const inSubnet = nics.filter((n) => sameId(subnetOf(n), podSubnetId));
  const pick = inSubnet.find(tagged) ?? inSubnet[0];
  if (!pick) {
    const have = nics.map((n) => `${n.name} in ${subnetOf(n) ?? 'no subnet'}`).join('; ');
    throw new ConfigError('AZURE_POD_SUBNET_ID', `no NIC of ${vm} is in ${podSubnetId} (${have}). ${HOW}`);
  }
  return pick.id;
}

/** Why a NIC other than the Pod NIC is left alone (NetworkInterface.excluded). */
export function notPodNic(podNicName: string | undefined): string {
  return `Pod addresses go on the Pod NIC ${podNicName ?? '(unnamed)'} (AZURE_POD_SUBNET_ID / ${POD_NIC_TAG})`;
}
