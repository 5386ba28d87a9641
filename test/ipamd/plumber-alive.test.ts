/**
 * Liveness of the netlink plumbing: alive() is undefined while the worker answers a ping, and names the
 * problem when the worker hangs (a netlink job stuck in the kernel) or the plumber is closed. No root: the
 * workers here are stand-ins that answer or never answer, on a virtual clock.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { NetlinkPlumber } from '../../ipamd/netns/netlink-plumber.js';
import { VirtualClock } from '../../ipamd/util/clock.js';

const dir = mkdtempSync(path.join(tmpdir(), 'plumber-alive-'));
function worker(name: string, body: string): URL {
  const file = path.join(dir, `${name}.mjs`);
  writeFileSync(file, `import { parentPort } from 'node:worker_threads';\n${body}\n`);
  return pathToFileURL(file);
}
// Answers every job with ok, as the real worker answers a ping.
const ANSWERS = worker('answers', "parentPort.on('message', (j) => parentPort.postMessage({ id: j.id, ok: true }));");
// Takes jobs and never answers: a worker stuck in a syscall.
const HANGS = worker('hangs', "parentPort.on('message', () => {});");

const plumbers: Array<{ p: NetlinkPlumber; clock: VirtualClock }> = [];
afterEach(async () => {
  // The stand-ins never exit by themselves: close() terminates them after its (virtual) 5 s grace.
  for (const { p, clock } of plumbers.splice(0)) {
    const closed = p.close();
    await clock.advance(5_000);
    await closed;
  }
});

describe('NetlinkPlumber.alive', () => {
  it('is undefined while the worker answers', async () => {
    const clock = new VirtualClock(0);
    const p = new NetlinkPlumber({ workerUrl: ANSWERS, clock });
    plumbers.push({ p, clock });
    expect(await p.alive()).toBeUndefined();
  });

  it('names a worker that does not answer within its budget', async () => {
    const clock = new VirtualClock(0);
    const p = new NetlinkPlumber({ workerUrl: HANGS, clock, jobTimeoutMs: 60_000 });
    plumbers.push({ p, clock });
    const alive = p.alive();
    await clock.advance(5_000);
    expect(await alive).toBe('netlink worker did not answer a ping in 5000 ms');
  });

  it('is a reason, not an exception, once closed', async () => {
    const clock = new VirtualClock(0);
    const p = new NetlinkPlumber({ workerUrl: ANSWERS, clock });
    expect(await p.alive()).toBeUndefined();
    const closed = p.close();
    await clock.advance(5_000);
    await closed;
    expect(await p.alive()).toBe('plumber closed');
  });
});
