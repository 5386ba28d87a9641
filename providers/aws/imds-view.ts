/**
 * @module aws imds view
 * What the instance metadata service shows of the node's interfaces, read for two purposes: a cheap
 * fingerprint that lets a resync skip EC2 while nothing changed (IMDS is local and free), and the check that
 * reports, never acts on, IMDS disagreeing with EC2 (it lags by seconds; EC2 is the authority).
 */
import type { NetworkInterface } from '../types.js';
import type { ImdsClient } from './imds-client.js';

/** Every interface's MAC with its addresses and prefixes as IMDS lists them; undefined if IMDS fails. */
export async function imdsAddressView(imds: ImdsClient): Promise<string | undefined> {
  try {
    const macs = (await imds.list('network/interfaces/macs/')).sort();
    const parts = await Promise.all(
      macs.map(async (mac) => {
        const [ips, prefixes] = await Promise.all([
          imds.list(`network/interfaces/macs/${mac}/local-ipv4s`),
          imds.list(`network/interfaces/macs/${mac}/ipv4-prefix`),
        ]);
        return `${mac}=${ips.sort().join(',')};${prefixes.sort().join(',')}`;
      }),
    );
    return parts.join('|');
  } catch {
    return undefined;
  }
}

/**
 * Where IMDS disagrees with EC2: ENIs EC2 shows that IMDS does not (`behind`, ids) and MACs only IMDS lists
 * (`ahead`). IMDS lists every card's ENIs: those EC2 shows on other cards (`otherCards`, MACs) are not "ahead".
 * A failed IMDS read is no disagreement.
 */
export async function imdsDisagreement(
  imds: ImdsClient,
  fromEc2: NetworkInterface[],
  otherCards: string[],
): Promise<{ behind: string[]; ahead: string[] }> {
  let macs: string[];
  try {
    macs = await imds.list('network/interfaces/macs/');
  } catch {
    return { behind: [], ahead: [] };
  }
  const ec2Macs = new Set([...fromEc2.map((n) => n.mac), ...otherCards]);
  const behind = fromEc2.filter((n) => !macs.includes(n.mac)).map((n) => n.id);
  const ahead = macs.filter((m) => !ec2Macs.has(m));
  return { behind, ahead };
}
