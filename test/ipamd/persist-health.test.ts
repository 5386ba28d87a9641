/**
 * Readiness includes being able to persist: while checkpoint writes fail (or
 * the start-up write probe does), STATUS, /healthz and the plugin's STATUS
 * say not ready with a reason naming the state directory, until a write
 * succeeds again, which ipamd retries by itself. Before: `ready: true` while
 * every ADD failed with CHECKPOINT_FAILED. The real-process version, with a
 * read-only state directory, is in test/e2e/state-dir.test.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../cni/contract/protocol.js';
import { callIpamd } from '../../cni/contract/socket-client.js';
import { MemoryCheckpointer } from '../../ipamd/datastore/checkpoint.js';
import { PERSIST_RETRY_MS } from '../../ipamd/datastore/persist-health.js';
import { CheckpointError } from '../../providers/errors.js';
import { drive, virtualNode, type VirtualNode } from '../helpers/virtual-daemon.js';

const STATE = '/var/lib/vpc-ipam-test/state';

/** The memory checkpointer with a location, a probe that can fail, and a record of call order. */
class ProbedCheckpointer extends MemoryCheckpointer {
  readonly location = path.join(STATE, 'ipam.json');
  readonly calls: string[] = [];
  probeError: Error | undefined;
  async removeStaleTemps(): Promise<string[]> {
    this.calls.push('sweep');
    return [];
  }
  async probe(): Promise<void> {
    this.calls.push('probe');
    if (this.probeError) throw this.probeError;
  }
  override async save(read: Parameters<MemoryCheckpointer['save']>[0]): Promise<void> {
    this.calls.push('save');
    return super.save(read);
  }
}

let nodes: VirtualNode[] = [];
afterEach(async () => {
  for (const n of nodes) await drive(n.clock, n.daemon.stop());
  nodes = [];
});

async function node(cp: ProbedCheckpointer, servers = false): Promise<VirtualNode & { socket: string; http?: number }> {
  const socket = path.join(mkdtempSync(path.join(tmpdir(), 'ph-')), 'ipamd.sock');
  const n = await virtualNode(
    {
      VPC_IPAM_SOCKET: socket,
      INTROSPECTION_BIND_ADDRESS: servers ? '127.0.0.1:0' : 'off',
      VPC_IPAM_METRICS_ADDRESS: 'off',
    },
    { checkpointer: cp },
  );
  nodes.push(n);
  const ports = servers ? await n.daemon.startServers() : {};
  return { ...n, socket, ...(ports.introspectionPort ? { http: ports.introspectionPort } : {}) };
}

describe('readiness follows the last checkpoint write', () => {
  it('is false, naming the state directory, while writes fail, and comes back by itself', async () => {
    const cp = new ProbedCheckpointer();
    const n = await node(cp, true);
    expect(n.daemon.status()).toMatchObject({ ready: true });

    cp.failNextWrites(1_000_000);
    await expect(n.add('x1')).rejects.toMatchObject({ code: 'CHECKPOINT_FAILED' });
    const s = n.daemon.status();
    expect(s.ready).toBe(false);
    expect(s.reason).toContain(`state directory ${STATE}`);
    expect(s.reason).toContain('injected checkpoint write failure');

    // What the plugin's STATUS and the kubelet's readiness probe see.
    const res = await callIpamd(n.socket, { v: PROTOCOL_VERSION, op: 'status' });
    expect(res).toMatchObject({ ok: true, status: { ready: false, reason: expect.stringContaining(STATE) } });
    const healthz = await fetch(`http://127.0.0.1:${n.http}/healthz`);
    expect(healthz.status).toBe(503);
    expect(((await healthz.json()) as { reason: string }).reason).toContain(STATE);
    expect((await fetch(`http://127.0.0.1:${n.http}/livez`)).status).toBe(200);

    // Still failing at the next retry: still not ready.
    await n.clock.advance(PERSIST_RETRY_MS + 10);
    expect(n.daemon.status().ready).toBe(false);

    // The disk is back: the next retry's write succeeds, with no ADD needed to prove it.
    cp.failNextWrites(0);
    const writes = cp.writes;
    await n.clock.advance(PERSIST_RETRY_MS + 10);
    expect(cp.writes).toBeGreaterThan(writes);
    expect(n.daemon.status()).toMatchObject({ ready: true });
    expect((await fetch(`http://127.0.0.1:${n.http}/healthz`)).status).toBe(200);
    await n.add('x1');
  });

  it('is false when the start-up write probe fails, even before any ADD', async () => {
    const cp = new ProbedCheckpointer();
    cp.probeError = new CheckpointError(`state directory ${STATE} is not writable: EROFS: read-only file system`);
    cp.failNextWrites(1_000_000);
    const n = await node(cp);
    // Swept and probed before the first write.
    expect(cp.calls.slice(0, 3)).toEqual(['sweep', 'probe', 'save']);
    // The start's own checkpoint write failed too: the reason is the latest failure's, naming the directory.
    const s = n.daemon.status();
    expect(s.ready).toBe(false);
    expect(s.reason).toContain(`state directory ${STATE}`);
  });

  it('a failed probe followed by a good write is ready (the write is the proof)', async () => {
    const cp = new ProbedCheckpointer();
    cp.probeError = new CheckpointError('transient');
    const n = await node(cp);
    expect(n.daemon.status().ready).toBe(true);
  });
});
