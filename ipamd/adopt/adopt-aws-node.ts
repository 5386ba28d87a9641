/**
 * @module adopting an aws-node node
 * Runs once at start, after our own checkpoint is restored and before anything is written or served: reads the
 * AWS CNI's checkpoint and the host's wiring, plans (./adoption-plan.ts, which refuses whole or not at all), then
 * hands each adopted allocation to the datastore as an assignment with its original container ID, interface,
 * Pod and host veth name, and prunes the rules of the AWS CNI's stale allocations as it would. A second start
 * finds every allocation already ours: nothing changes.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { NodeInventory } from '../../providers/types.js';
import type { Datastore } from '../datastore/datastore.js';
import type { Assignment } from '../datastore/types.js';
import { describeAwsEntry, readAwsCheckpoint } from './aws-checkpoint.js';
import { planAdoption } from './adoption-plan.js';
import { AdoptionRefusedError } from './errors.js';
import type { HostWiringPort } from './host-wiring.js';

export interface AdoptionReport {
  /** Whether the AWS checkpoint existed. */
  found: boolean;
  adopted: number;
  already: number;
  /** The AWS CNI's stale allocations (no veth): dropped. */
  stale: string[];
  /** Rules of stale allocations deleted. */
  rulesPruned: number;
}

export interface AdoptInputs {
  checkpointFile: string;
  network: string;
  vethPrefix: string;
  host: HostWiringPort;
  datastore: Pick<Datastore, 'list' | 'restoreAssignment'>;
  node: Pick<NodeInventory, 'interfaces'>;
}

/**
 * The AWS CNI keeps the Pods of network cards other than the first in `ipam-nic-<n>.json` beside the main file
 * (`InitializeDataStores`); we manage one card, so a Pod listed there refuses the adoption.
 */
async function refuseOtherCards(file: string): Promise<void> {
  const dir = path.dirname(file);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const n of names.filter((x) => /^ipam-nic-\d+\.json$/.test(x))) {
    const other = await readAwsCheckpoint(path.join(dir, n));
    const first = other?.allocations[0];
    if (first) {
      const detail = `a Pod on network card ${n.slice(9, -5)}: only the first card's Pods can be adopted`;
      throw new AdoptionRefusedError('multi-nic', `${path.join(dir, n)} ${describeAwsEntry(first)}`, detail);
    }
  }
}

export async function adoptAwsNode(i: AdoptInputs): Promise<AdoptionReport> {
  await refuseOtherCards(i.checkpointFile);
  const checkpoint = await readAwsCheckpoint(i.checkpointFile);
  if (!checkpoint) return { found: false, adopted: 0, already: 0, stale: [], rulesPruned: 0 };
  const plan = planAdoption({
    checkpoint,
    interfaces: i.node.interfaces,
    host: await i.host.scan(),
    existing: i.datastore.list(),
    network: i.network,
    vethPrefix: i.vethPrefix,
  });
  for (const a of plan.adopt) {
    const holder: Assignment | undefined = i.datastore.restoreAssignment(a);
    // The plan checked our assignments; a holder here is a bug, never a silent second owner.
    if (holder) throw new AdoptionRefusedError('address-held', `${a.containerId}/${a.ifName} ${a.ip}`, 'held');
  }
  const held = new Set(i.datastore.list().map((a) => a.ip));
  const prune = [...new Set(plan.stale.map((s) => s.ip))].filter((ip) => !held.has(ip));
  const rulesPruned = prune.length ? await i.host.pruneRules(prune) : 0;
  const stale = plan.stale.map((s) => s.entry);
  return { found: true, adopted: plan.adopt.length, already: plan.already.length, stale, rulesPruned };
}
