/**
 * @module snapshot warm-up
 * Runs only while the single executable's start-up snapshot is being built (cni/build/build.ts, variant
 * `snapshot`). It drives ADD, DEL and VERSION once through {@link runCli} with in-memory fakes, so V8 compiles
 * the functions of those paths at build time and the snapshot carries their bytecode: the plugin then skips
 * lazy compilation (about a fifth of an ADD's CPU time before). The socket client is warmed against a server
 * of this build process on an abstract Unix socket (no file, gone with the process), closed before the
 * snapshot is taken; stdin's read and stdout's write against /dev/null. Nothing else touches the environment,
 * a file, a namespace or the kernel: fakes stand in for them (the CNI_NETNS probe included), and the snapshot
 * holds no state from this run (every verb builds its objects afresh).
 */

/** The calls realIo makes on fds 0 and 1, on /dev/null. */
function warmStdio(): void {
  const fd = fs.openSync('/dev/null', 'r+');
  try {
    fs.readFileSync(fd);
    fs.writeSync(fd, '\n');
  } finally {
    fs.closeSync(fd);
  }
}
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { DelRequest, Response } from './contract/protocol.js';
import { SocketIpamdClient } from './contract/socket-client.js';
import type { PluginDeps } from './commands.js';
import { runCli } from './main.js';

const ALLOCATION = {
  ip: '192.0.2.10',
  prefixLength: 32,
  gateway: '169.254.1.1',
  interfaceId: 'eni-warmup',
  deviceIndex: 1,
  routeTable: 2,
  subnetCidr: '192.0.2.0/24',
  vpcCidrs: ['192.0.2.0/24'],
  hostIf: 'vpc0123456789a',
  hostMac: '02:00:00:00:00:01',
  podMac: '02:00:00:00:00:02',
};

const reply = (op: string): Response =>
  (op === 'add' ? { ok: true, allocation: ALLOCATION } : { ok: true, released: true }) as Response;

/** A one-line-per-connection ipamd stand-in, as the real socket protocol has it. */
function fakeIpamd(): Promise<{ socket: string; close(): Promise<void> }> {
  const socket = `\0vpc-ipam-warmup-${process.pid}`;
  const server = net.createServer((c) => {
    let buf = '';
    c.setEncoding('utf8');
    c.on('error', () => undefined);
    c.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\n')) c.end(`${JSON.stringify(reply((JSON.parse(buf) as { op: string }).op))}\n`);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () =>
      resolve({ socket, close: () => new Promise<void>((done) => server.close(() => done())) }),
    );
  });
}

function fakeDeps(socket: string): Partial<PluginDeps> {
  return {
    // The class runCli builds, on a path the configuration's absolute-path rule would refuse.
    client: new SocketIpamdClient(socket),
    readHostMac: () => undefined,
    offlineTearDown: () => Promise.resolve(),
    writePendingRelease: (_dir: string, _req: DelRequest) => '',
  };
}

async function once(command: string, config: object, socket: string): Promise<string> {
  let out = '';
  await runCli({
    env: {
      CNI_COMMAND: command,
      CNI_CONTAINERID: 'warmup0123456789',
      CNI_NETNS: '/var/run/netns/vpc-ipam-warmup',
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/opt/cni/bin',
      CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=warmup;K8S_POD_UID=0',
    },
    readStdin: () => Buffer.from(JSON.stringify(config)),
    writeStdout: (s) => {
      out += s;
    },
    deps: fakeDeps(socket),
    probeNetns: () => 'ok',
  });
  return out;
}

/** One round of VERSION, ADD and DEL; resolves to what each printed on stdout (tests check it did work). */
export async function warmUpVerbs(): Promise<{ version: string; add: string; del: string }> {
  warmStdio();
  const ipamd = await fakeIpamd();
  try {
    const config = { cniVersion: '1.1.0', name: 'warmup', type: 'vpc-ipam', mtu: 9001, logLevel: 'off' };
    const version = await once('VERSION', { cniVersion: '1.1.0' }, ipamd.socket);
    const add = await once('ADD', config, ipamd.socket);
    const del = await once('DEL', { ...config, prevResult: JSON.parse(add) as object }, ipamd.socket);
    return { version, add, del };
  } finally {
    await ipamd.close();
  }
}

/** Never throws: a failed warm-up only means the plugin compiles those functions at run time, as before. */
export async function warmUp(): Promise<void> {
  await warmUpVerbs().catch(() => undefined);
}
