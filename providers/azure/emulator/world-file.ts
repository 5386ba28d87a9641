/**
 * @module azure emulator world file
 * A world with one seeded node, and a world kept in a file across restarts
 * (the SimCloud's own persistence: atomic writes, loaded back with the Azure
 * error codes).
 */
import { existsSync } from 'node:fs';
import { openSimCloud, saveSimCloud } from '../../sim/index.js';
import { AzureWorld, type AzureScope } from './azure-world.js';
import { seedAzureNode, type AzureSeedOptions } from './seed.js';

export const DEFAULT_SCOPE: AzureScope = {
  subscription: '00000000-0000-0000-0000-000000000001',
  resourceGroup: 'rg-vpc-ipam',
  location: 'eastus',
};

/** A world with one seeded node, ready to serve. */
export function seededWorld(seed: AzureSeedOptions, scope: AzureScope = DEFAULT_SCOPE, prngSeed = 1): AzureWorld {
  const world = AzureWorld.create(scope, { seed: prngSeed });
  seedAzureNode(world, seed);
  return world;
}

/**
 * Loads the world saved in `file`, or creates it with `init` and saves it.
 * Returns the world and a `save` to call after every change.
 */
export function openAzureWorld(
  file: string,
  init: () => AzureWorld,
): { world: AzureWorld; save: () => void; created: boolean } {
  const created = !existsSync(file);
  const cloud = openSimCloud(file, () => init().cloud, AzureWorld.cloudOptions());
  const world = AzureWorld.fromCloud(cloud);
  let lastSaved = cloud.revision;
  return {
    world,
    created,
    save: () => {
      if (cloud.revision === lastSaved) return;
      saveSimCloud(cloud, file);
      lastSaved = cloud.revision;
    },
  };
}
