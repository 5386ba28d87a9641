/**
 * What the GCP adapter's tests share: providers and second writers that {@link closeOpened} closes after each
 * test, and error capture.
 */
import type { CloudError } from '../../../providers/errors.js';
import type { ComputeApi, GcpProvider } from '../../../providers/gcp/index.js';
import { compute, provider, type TestEmulator } from './helpers.js';

const opened: Array<GcpProvider | ComputeApi> = [];

export async function adapter(e: TestEmulator, over: Parameters<typeof provider>[1] = {}): Promise<GcpProvider> {
  const p = await provider(e, over);
  opened.push(p);
  return p;
}

/** Another client of the same project, as a second writer to the instance. */
export async function writer(e: TestEmulator): Promise<ComputeApi> {
  const c = await compute(e);
  opened.push(c);
  return c;
}

export async function closeOpened(): Promise<void> {
  for (const p of opened.splice(0)) await p.close();
}

/** The error `p` fails with, or undefined when it succeeds. */
export const fail = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as CloudError,
  );
