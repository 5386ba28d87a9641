/**
 * @module sim vpc
 * The simulated node's VPC: the sim's default VPC (10.0.0.0/16) when it holds
 * the requested subnet, else the /16 around the subnet (or the subnet itself
 * when it is larger than a /16), so any valid `--subnet` works.
 */
import { Address4 } from 'ip-address';

export function vpcCidrFor(subnetCidr: string, defaultVpc: string): string {
  const subnet = new Address4(subnetCidr);
  if (subnet.isInSubnet(new Address4(defaultVpc))) return defaultVpc;
  if (subnet.subnetMask <= 16) return subnetCidr;
  const around = new Address4(`${subnet.startAddress().address}/16`);
  return `${around.startAddress().address}/16`;
}
