/**
 * Test helper: waits until a daemon process's start is complete, not only ready. Since issue 17 ipamd is
 * ready (/healthz) once it can answer correctly; the cloud read, the sweep of interfaces a crash left
 * detached and the first fill follow in the background (/v1/startup `steps.filled`).
 */
import { getJson, type DaemonHandle } from './daemon-process.js';

export async function startDone(h: DaemonHandle, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await getJson<{ steps: Record<string, number> }>(h, '/v1/startup');
    if (s.steps.filled !== undefined) return;
    if (h.proc.exitCode !== null) throw new Error(`ipamd exited with ${h.proc.exitCode}: ${h.stderr()}`);
    if (Date.now() > deadline) throw new Error(`ipamd start not done in ${timeoutMs} ms: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
