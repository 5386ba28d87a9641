/** What the Azure adapter's tests share: the node's NIC, a CloudCaller that retries fast, and error capture. */
import { CloudCaller } from '../../../ipamd/cloud/cloud-caller.js';
import { SystemClock } from '../../../ipamd/util/clock.js';
import type { CloudError } from '../../../providers/errors.js';
import { nicIdOf } from './helpers.js';

export const NIC = nicIdOf('node1-nic');

export const caller = (maxAttempts = 6) =>
  new CloudCaller({ clock: new SystemClock(), concurrency: 1, maxAttempts, baseDelayMs: 20, maxDelayMs: 200 });

/** The error `p` fails with, or undefined when it succeeds. */
export const fail = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as CloudError,
  );
