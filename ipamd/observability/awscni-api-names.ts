/**
 * @module awscni api names
 * The `api` / `fn` label of the `awscni_*` cloud-call families: the cloud's own name for the request that carries a
 * provider operation. The AWS VPC CNI labels each EC2 request (`AssignPrivateIpAddresses`…); ipamd observes one
 * attempt per provider operation (ipamd/cloud/cloud-caller.ts), so each operation is named by its principal
 * request: the one that does the work, or the read that answers it. On Azure and GCP the names are the SDK
 * methods the adapters call (`networkInterfaces.get`, `instances.updateNetworkInterface`), never an EC2 name
 * borrowed for another cloud. An operation that sends no request (Azure and GCP `getLimits` read a table) and
 * every operation of the sim cloud keep their neutral name.
 */
import type { ProviderName } from '../../providers/types.js';

type Operation =
  | 'describeNode'
  | 'getLimits'
  | 'listSubnets'
  | 'describeSubnetAllocations'
  | 'createInterface'
  | 'deleteInterface'
  | 'assignAddresses'
  | 'unassignAddresses'
  | 'reclaimLeakedInterfaces';

const API_NAMES: Record<ProviderName, Partial<Record<Operation, string>>> = {
  aws: {
    // EC2 is the authority for the node's ENIs (providers/aws/aws-provider.ts); IMDS only discovers.
    describeNode: 'DescribeNetworkInterfaces',
    getLimits: 'DescribeInstanceTypes',
    listSubnets: 'DescribeSubnets',
    describeSubnetAllocations: 'DescribeNetworkInterfaces',
    createInterface: 'CreateNetworkInterface',
    deleteInterface: 'DeleteNetworkInterface',
    assignAddresses: 'AssignPrivateIpAddresses',
    unassignAddresses: 'UnassignPrivateIpAddresses',
    reclaimLeakedInterfaces: 'DescribeNetworkInterfaces',
  },
  azure: {
    describeNode: 'networkInterfaces.get',
    listSubnets: 'subnets.list',
    describeSubnetAllocations: 'subnets.get',
    // Secondary addresses are ipConfigurations of the NIC: one PUT of the whole NIC adds or removes them.
    assignAddresses: 'networkInterfaces.createOrUpdate',
    unassignAddresses: 'networkInterfaces.createOrUpdate',
  },
  gcp: {
    describeNode: 'instances.get',
    listSubnets: 'subnetworks.get',
    describeSubnetAllocations: 'instances.aggregatedList',
    // Alias ranges are rewritten whole on nic0 (providers/gcp/provider.ts).
    assignAddresses: 'instances.updateNetworkInterface',
    unassignAddresses: 'instances.updateNetworkInterface',
  },
  sim: {},
};

/** The cloud's name for the request behind `operation` on `provider`; the operation itself when it has none. */
export function cloudApiName(provider: ProviderName, operation: string): string {
  return API_NAMES[provider][operation as Operation] ?? operation;
}
