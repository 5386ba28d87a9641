/**
 * @module foreign ENI helper
 * ENIs someone other than ipamd made (the VPC Resource Controller's trunk, an EFA, an operator's own),
 * created and attached through the real SDK against the emulator, as they would be on EC2: the attach is
 * retried while EC2 does not see the new ENI yet, and waited for until it is `attached`, on the node's clock.
 */
import {
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
  type NetworkInterfaceCreationType,
} from '@aws-sdk/client-ec2';
import { pastNotFound, TEST_GROUP, waitOnClock, type AwsNode } from './helpers.js';

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
      Groups: [TEST_GROUP],
      ...(e.type ? { InterfaceType: e.type } : {}),
      ...(Tags.length ? { TagSpecifications: [{ ResourceType: 'network-interface', Tags }] } : {}),
    }),
  );
  const id = out.NetworkInterface!.NetworkInterfaceId!;
  if (e.at !== undefined) {
    const attach = { NetworkInterfaceId: id, InstanceId: n.instanceId, DeviceIndex: e.at };
    await pastNotFound(n, () => n.ec2.send(new AttachNetworkInterfaceCommand(attach)));
    const status = async () => {
      const out = await n.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] }));
      return out.NetworkInterfaces?.[0]?.Attachment?.Status === 'attached';
    };
    await waitOnClock(n, `${id} attached`, status);
  }
  return id;
}
