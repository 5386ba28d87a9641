/**
 * Test helper: ipamd's DEL removes a Pod's host route and rules before it answers and leaves the host veth to
 * the Pod's namespace, as the AWS VPC CNI does; when the namespace outlives DEL (as in these tests, which delete
 * namespaces at the end), ipamd deletes the veth after a grace (ipamd/api/kept-veths.ts). This waits for that,
 * and never fails: the caller's own assertion on the links follows and says what is left.
 */
import { eventually } from './eventually.js';

export async function keptVethsGone(linkNames: () => Promise<string[]>, veths: string[]): Promise<void> {
  await eventually(
    `host veths ${veths.join(', ')} deleted`,
    async () => {
      const names = new Set(await linkNames());
      return veths.every((v) => !names.has(v));
    },
    { timeoutMs: 10_000 },
  ).catch(() => undefined);
}
