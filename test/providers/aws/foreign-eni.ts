/**
 * @module foreign ENI helper
 * ENIs someone other than ipamd made (the VPC Resource Controller's trunk, an EFA, an operator's own),
 * created and attached through the real SDK against the emulator, as they would be on EC2.
 */
import {
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  type NetworkInterfaceCreationType,
} from '@aws-sdk/client-ec2';
import type { AwsNode } from './helpers.js';

export interface ForeignEni {
  type?: NetworkInterfaceCreationType;
  /** Given at creation (TagSpecifications), as real tooling does. */
  tags?: Record<string, string>;
  /** Attach at this device index; left detached when absent. */
  at?: number;
}

export async function foreignEni(n: AwsNode, e: ForeignEni = {}): Promise<string> {
  const Tags = Object.entries(e.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
  const out = await n.ec2.send(
    new CreateNetworkInterfaceCommand({
      SubnetId: n.podSubnetId,
      Groups: ['sg-0123'],
      ...(e.type ? { InterfaceType: e.type } : {}),
      ...(Tags.length ? { TagSpecifications: [{ ResourceType: 'network-interface', Tags }] } : {}),
    }),
  );
  const id = out.NetworkInterface!.NetworkInterfaceId!;
  if (e.at !== undefined) {
    const attach = { NetworkInterfaceId: id, InstanceId: n.instanceId, DeviceIndex: e.at };
    await n.ec2.send(new AttachNetworkInterfaceCommand(attach));
  }
  return id;
}
