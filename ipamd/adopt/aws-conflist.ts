/**
 * @module aws-node's conflist, moved aside
 * The runtime uses the first conflist of the CNI conf dir by name, and `10-aws.conflist` sorts before
 * `10-vpc-ipam.conflist`: while it is there, every new Pod still goes to the AWS plugin (and to an aws-node that
 * is gone). So, with adoption on, once ours is written (the keeper writes it only after adoption succeeded:
 * ipamd is not ready before), aws-node's is renamed to a name no runtime loads (libcni reads only .conf,
 * .conflist and .json), not deleted: a rollback can put it back, and aws-node rewrites it anyway on start.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncDirSync } from '../../cni/contract/atomic-file.js';
import type { Logger } from '../observability/logger.js';

export const AWS_CONFLIST = '10-aws.conflist';
export const AWS_CONFLIST_ASIDE = `${AWS_CONFLIST}.adopted-by-vpc-ipam`;

/** Renames aws-node's conflist aside; true when it was there. Idempotent. */
export function moveAwsConflistAside(confDir: string): boolean {
  const from = path.join(confDir, AWS_CONFLIST);
  try {
    fs.renameSync(from, path.join(confDir, AWS_CONFLIST_ASIDE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  fsyncDirSync(confDir);
  return true;
}

/** The conflist keeper's hook: moves aws-node's conflist aside once; logs, never throws (retried next round). */
export function awsConflistSwap(confDir: string, log: Pick<Logger, 'info' | 'error'>): () => void {
  return () => {
    try {
      if (moveAwsConflistAside(confDir))
        log.info({ confDir, to: AWS_CONFLIST_ASIDE }, "moved aws-node's conflist aside");
    } catch (err) {
      log.error(
        { err: (err as Error).message, confDir },
        "cannot move aws-node's conflist aside; new Pods still use it",
      );
    }
  };
}
