/**
 * @module a fabric node: an EC2 instance as a network namespace, with its own ipamd
 * The namespace starts as an instance boots: `eth0` (the primary ENI's veth, made by the router) gets the
 * primary address, subnet route and default route via the subnet's `.1`, as DHCP gives them; IP forwarding
 * is on (the AMI/kubelet does that) and rp_filter is loose (systemd's default, and what the AWS VPC CNI's
 * init container sets on eth0). Secondary ENIs show up later as bare links with their MAC (router.ts).
 *
 * ipamd is the real built daemon (dist/ipamd/main.js), started inside the namespace with `ip netns exec`, on
 * the AWS provider, talking to the node's emulator through a portal on the node's own 127.0.0.1 (so the
 * loopback-only guard stays on). Pods are added and deleted through the real CNI plugin executable, also run
 * inside the node namespace, exactly as a runtime would (CNI_* environment, configuration on stdin).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cniEnv, runPlugin, type PluginCommand } from '../cni/plugin-process.js';
import { DAEMON_JS, LOOPBACK_GUARD } from '../helpers/daemon-process.js';
import { FabricCloud, NODE_SUBNET, gatewayOf, prefixLen, type EniView } from './cloud.js';
import { inNs, ipBatch, ipIn, run, runRaw, sysctl } from './exec.js';
import { openPortal, type Portal } from './portal.js';
import { QUIET_SERVER_SYNACK_RETRIES } from './probe.js';

const INTROSPECTION = '127.0.0.1:61679';

export interface Pod {
  name: string;
  node: string;
  ns: string;
  containerId: string;
  ip: string;
  /** The ENI the address belongs to, per EC2. */
  eni: EniView;
  /** The plugin's ADD result (CHECK gets it back as prevResult). */
  result: Record<string, unknown>;
}

export interface NodeOptions {
  name: string;
  ns: string;
  cloud: FabricCloud;
  plugin: PluginCommand;
  /** Scratch directory: ipamd state, socket, logs. */
  dir: string;
  /** ipamd environment on top of the fabric's defaults (EXTERNALSNAT, EXCLUDE_SNAT_CIDRS, …). */
  env?: Record<string, string>;
  podNsPrefix: string;
  /** rp_filter of every interface (default 2, loose). */
  rpFilter?: number;
}

export class FabricNode {
  private proc: ChildProcess | undefined;
  private portal: Portal | undefined;
  private stderr = '';
  readonly pods = new Map<string, Pod>();
  private seq = 0;

  constructor(readonly o: NodeOptions) {}

  get name(): string {
    return this.o.name;
  }

  get ns(): string {
    return this.o.ns;
  }

  get socket(): string {
    return path.join(this.o.dir, 'ipamd.sock');
  }

  get logFile(): string {
    return path.join(this.o.dir, 'ipamd.log');
  }

  /** The namespace only: the router needs it to plug the ENIs into. */
  async create(): Promise<void> {
    await run(['ip', 'netns', 'add', this.ns]);
    await ipIn(this.ns, 'link', 'set', 'lo', 'up');
    const rp = this.o.rpFilter ?? 2;
    await sysctl(this.ns, {
      'net.ipv4.ip_forward': 1,
      'net.ipv4.conf.all.rp_filter': rp,
      'net.ipv4.conf.default.rp_filter': rp,
      'net.ipv4.tcp_synack_retries': QUIET_SERVER_SYNACK_RETRIES,
    });
  }

  /** What DHCP on the primary ENI does at boot, then the emulator portal and ipamd. */
  async boot(): Promise<void> {
    const primary = this.o.cloud.primaryIpOf(this.name);
    await ipBatch(this.ns, [
      `addr add ${primary}/${prefixLen(NODE_SUBNET)} dev eth0`,
      'link set eth0 mtu 9001 up',
      `route add default via ${gatewayOf(NODE_SUBNET)} dev eth0`,
    ]);
    const emu = this.o.cloud.endpointOf(this.name);
    this.portal = await openPortal(this.ns, '127.0.0.1', 0, () => emu);
    fs.mkdirSync(this.o.dir, { recursive: true });
    await this.startIpamd();
  }

  private env(): NodeJS.ProcessEnv {
    const endpoint = `http://127.0.0.1:${this.portal!.port}`;
    return {
      PATH: process.env.PATH,
      TMPDIR: this.o.dir,
      NODE_OPTIONS: LOOPBACK_GUARD,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      VPC_IPAM_PROVIDER: 'aws',
      AWS_EC2_ENDPOINT: endpoint,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'emulator',
      VPC_IPAM_STATE_DIR: path.join(this.o.dir, 'state'),
      VPC_IPAM_SOCKET: this.socket,
      INTROSPECTION_BIND_ADDRESS: INTROSPECTION,
      VPC_IPAM_METRICS_ADDRESS: 'off',
      VPC_IPAM_LOG_FILE: this.logFile,
      VPC_IPAM_PLUMBING: 'on',
      VPC_IPAM_RESYNC_INTERVAL_SECONDS: '5',
      // m5.large: 10 addresses per ENI, 9 for Pods on the primary; asking for 12 forces a second ENI at once.
      MINIMUM_IP_TARGET: '12',
      WARM_IP_TARGET: '2',
      ...this.o.env,
    };
  }

  /** Starts ipamd (again, after a stop: same state directory) and waits for /healthz inside the node. */
  async startIpamd(): Promise<void> {
    this.stderr = '';
    const proc = spawn('ip', ['netns', 'exec', this.ns, process.execPath, DAEMON_JS], {
      env: this.env(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.proc = proc;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`${this.name}: ipamd exited ${proc.exitCode}: ${this.stderr}`);
      if ((await this.get('/healthz')) !== undefined) return;
      if (Date.now() > deadline) throw new Error(`${this.name}: ipamd not healthy after 30 s: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stopIpamd(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** GET on ipamd's introspection listener, which is on the node's loopback: curl from inside the node. */
  async get<T = unknown>(p: string): Promise<T | undefined> {
    const url = `http://${INTROSPECTION}${p}`;
    const r = await runRaw(inNs(this.ns, 'curl', '-sf', '--noproxy', '*', '--max-time', '2', url));
    if (r.code !== 0) return undefined;
    try {
      return JSON.parse(r.stdout) as T;
    } catch {
      return r.stdout as unknown as T;
    }
  }

  /** Route table of a secondary ENI has its default route: ipamd has finished that ENI's host side. */
  async eniReady(deviceIndex: number): Promise<boolean> {
    const r = await runRaw(['ip', '-n', this.ns, 'route', 'show', 'table', String(deviceIndex + 1)]);
    return r.code === 0 && r.stdout.includes('default');
  }

  /** The plugin as the runtime runs it: in the node's (host) namespace. */
  private pluginArgv(): string[] {
    return ['ip', 'netns', 'exec', this.ns, ...this.o.plugin];
  }

  private conf(): Record<string, unknown> {
    return {
      cniVersion: '1.0.0',
      name: 'vpc-net',
      type: 'vpc-ipam',
      ipamdSocket: this.socket,
      mtu: 9001,
      logFile: path.join(this.o.dir, 'cni.log'),
      logLevel: 'debug',
    };
  }

  private cni(command: string, p: { containerId: string; ns: string; name: string }): NodeJS.ProcessEnv {
    return cniEnv({
      CNI_COMMAND: command,
      CNI_CONTAINERID: p.containerId,
      CNI_NETNS: `/var/run/netns/${p.ns}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/usr/lib/cni',
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=fabric;K8S_POD_NAME=${p.name};K8S_POD_UID=uid-${p.containerId}`,
    });
  }

  /** A Pod: its namespace, then ADD through the plugin, run inside the node as the runtime would. */
  async addPod(name: string): Promise<Pod> {
    const ns = `${this.o.podNsPrefix}${this.name}-${name}`;
    const containerId = `fab${process.pid}${this.name}${this.seq++}`;
    await run(['ip', 'netns', 'add', ns]);
    await sysctl(ns, { 'net.ipv4.tcp_synack_retries': QUIET_SERVER_SYNACK_RETRIES });
    const r = await runPlugin(this.pluginArgv(), this.cni('ADD', { containerId, ns, name }), this.conf());
    if (r.code !== 0) throw new Error(`${this.name}: ADD ${name} exited ${r.code}: ${r.stdout}${r.stderr}`);
    const ip = (r.json!.ips as Array<{ address: string }>)[0]!.address.split('/')[0]!;
    const eni = this.o.cloud.ownerOf(ip);
    if (!eni) throw new Error(`${this.name}: ADD ${name} got ${ip}, which no ENI owns in EC2`);
    const pod: Pod = { name, node: this.name, ns, containerId, ip, eni, result: r.json! };
    this.pods.set(name, pod);
    return pod;
  }

  /** CHECK through the plugin: undefined when it passes, else the plugin's error message. */
  async checkPod(pod: Pod): Promise<string | undefined> {
    const r = await runPlugin(this.pluginArgv(), this.cni('CHECK', pod), { ...this.conf(), prevResult: pod.result });
    return r.code === 0 ? undefined : `${r.stdout}${r.stderr}`;
  }

  /** DEL through the plugin (errors are returned, DEL runs during cleanup too), then the namespace. */
  async delPod(pod: Pod): Promise<string | undefined> {
    const r = await runPlugin(this.pluginArgv(), this.cni('DEL', pod), this.conf());
    await runRaw(['ip', 'netns', 'del', pod.ns]);
    this.pods.delete(pod.name);
    return r.code === 0 ? undefined : `DEL ${pod.name}: exit ${r.code}: ${r.stdout}${r.stderr}`;
  }

  /** Kernel counters of the node that explain drops the node makes itself (per namespace, from /proc/net). */
  async kernelCounters(): Promise<Map<string, number>> {
    const r = await runRaw(inNs(this.ns, 'cat', '/proc/net/snmp', '/proc/net/netstat'));
    const out = new Map<string, number>();
    const lines = r.stdout.split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const [kind, ...names] = lines[i]!.split(' ');
      const values = lines[i + 1]!.split(' ').slice(1);
      names.forEach((n, j) => out.set(`${kind!.replace(':', '')}.${n}`, Number(values[j])));
    }
    return out;
  }

  /** The tail of ipamd's log, for a failure message. */
  logTail(lines = 20): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  async close(): Promise<void> {
    await this.stopIpamd('SIGKILL');
    await this.portal?.close();
  }
}
