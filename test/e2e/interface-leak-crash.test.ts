/**
 * The real vpc-ipamd process (dist/) SIGKILLed between CreateNetworkInterface
 * and AttachNetworkInterface, on the sim cloud and on the embedded AWS
 * emulator, whose clouds are saved after every change: the kill leaves a
 * detached interface of ours in the saved cloud, and the restarted daemon
 * deletes it before it reports healthy. What crash loops left on the sim cloud
 * before (a detached ENI with 6 addresses) cannot pile up any more.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { PROTOCOL_VERSION } from '../../cni/contract/protocol.js';
import { callIpamd } from '../../cni/contract/socket-client.js';
import { TAG_INSTANCE_ID } from '../../providers/interface-tags.js';
import { kill, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';
import { startDone } from '../helpers/start-done.js';

const handles: DaemonHandle[] = [];
afterAll(async () => {
  for (const h of handles) await kill(h, 'SIGKILL');
});

interface SavedInterface {
  id: string;
  status: string;
  tags: Record<string, string>;
  privateIps: string[];
}

function savedInterfaces(file: string): SavedInterface[] {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { interfaces: SavedInterface[] }).interfaces;
  } catch {
    return []; // between the temp file and the rename: read again
  }
}

/** The saved cloud holds only this node: every detached interface in it is one ipamd made. */
const detached = (file: string) => savedInterfaces(file).filter((n) => n.status === 'available');

/** Polls `fn` often (the kill must land inside a one-second window); the deadline only guards a hang. */
const poll = <T>(what: string, fn: () => T | undefined, ms = 20_000): Promise<T> =>
  eventually(what, fn, { timeoutMs: ms, everyMs: 5 });

// Latency scale 0.5: an attach takes a second, so the kill lands between create and attach.
const CASES: Array<[string, Record<string, string>, string]> = [
  ['sim', { VPC_IPAM_SIM_LATENCY_SCALE: '0.5' }, 'sim-cloud.json'],
  [
    'aws (embedded EC2 emulator)',
    {
      VPC_IPAM_PROVIDER: 'aws',
      VPC_IPAM_AWS_EMBEDDED_EMULATOR: 'true',
      VPC_IPAM_SIM_LATENCY_SCALE: '0.5',
      VPC_IPAM_AWS_EMULATOR_REALISM: 'scale=0.1', // strict, at a tenth of its delays
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    'aws-cloud.json',
  ],
];

describe('SIGKILL between create and attach', () => {
  it.each(CASES)('%s: the restarted daemon deletes the interface the kill left detached', async (_n, env, file0) => {
    let h = await startDaemon(env);
    handles.push(h);
    await startDone(h);
    const file = path.join(h.dir, 'state', file0);
    expect(detached(file)).toEqual([]);
    // Three Pods leave fewer than one interface's worth free (WARM_ENI_TARGET=1): the pool adds an interface.
    for (const id of ['a', 'b', 'c']) {
      const req = { v: PROTOCOL_VERSION, op: 'add', network: 'vpc-ipam', containerId: id, ifName: 'eth0' } as const;
      const r = await callIpamd(h.socket, req, 20_000);
      expect(r.ok).toBe(true);
    }
    const [leak] = await poll('a created, not yet attached interface', () => {
      const now = detached(file);
      return now.length ? now : undefined;
    });
    await kill(h, 'SIGKILL');
    expect(detached(file).map((n) => n.id)).toEqual([leak!.id]); // what the crash left behind
    expect(leak!.privateIps.length).toBeGreaterThan(0);
    expect(leak!.tags[TAG_INSTANCE_ID]).toBeTruthy(); // tagged in the create call: a later start can find it

    h = await startDaemon({}, h);
    handles.push(h);
    await startDone(h);
    // Deleted during the start, before its first pool tick (after ready: the sweep is in the background).
    expect(savedInterfaces(file).map((n) => n.id)).not.toContain(leak!.id);
    await poll('no detached interface', () => (detached(file).length === 0 ? true : undefined));
    expect(await kill(h, 'SIGTERM')).toBe(0);
  });
});
