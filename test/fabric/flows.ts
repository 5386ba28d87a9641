/**
 * @module the traffic matrix of issue 12, part 3
 * Each flow names its client and server, the probes to run (ping and/or a TCP connect, each bounded), and
 * what EC2 would do: either the flow works (and, where it matters, the server saw the right source address),
 * or it is dropped at a named place that a counter proves. Expectations are the AWS VPC CNI's behaviour on
 * EC2, not today's wiring, so the file goes green once the host networking of part 1 is in.
 */
import { type Fabric, IMDS_ADDRESS, PUBLIC_IPS, SERVICE_POD } from './fabric.js';
import { INTERNET_EXCLUDED_HOST, INTERNET_HOST } from './igw.js';
import { CLUSTER_IP, CLUSTER_PORT, NODE_PORT } from './kube-proxy.js';
import { ECHO_PORT, imds, ping, tcp, type ProbeResult } from './probe.js';

/** A place traffic starts from or goes to: a namespace and an address in it. */
export interface End {
  label: string;
  ns: string;
  ip: string;
}

export type Probe = 'ping' | 'tcp' | 'imds';

export interface Flow {
  name: string;
  from: (f: Fabric) => End;
  /** Where the probes go (a Service address or a public address need not be anyone's own address). */
  to: (f: Fabric) => { label: string; ip: string; port?: number };
  probes: Probe[];
  /** Works on EC2 with the AWS VPC CNI; or fails, with the counter (key pattern) that must explain why. */
  expect: { ok: true; answer?: (f: Fabric) => RegExp } | { ok: false; blockedBy: RegExp; where: string };
}

const pod =
  (node: string, name: string) =>
  (f: Fabric): End => {
    const p = f.pod(node, name);
    return { label: `${node}/${name} (${p.eni.deviceIndex === 0 ? 'primary' : 'secondary'} ENI)`, ns: p.ns, ip: p.ip };
  };
const node =
  (name: string) =>
  (f: Fabric): End => {
    const n = f.node(name);
    return { label: `${name} (node)`, ns: n.ns, ip: f.cloud.primaryIpOf(name) };
  };
const internet = (f: Fabric): End => ({ label: 'Internet host', ns: f.internetNs, ip: INTERNET_HOST });
const fixed = (label: string, ip: string, port?: number) => () => ({ label, ip, ...(port ? { port } : {}) });
const ok = { ok: true } as const;
const both: Probe[] = ['ping', 'tcp'];
/** Answer line of the echo server: `<who answered> <source address it saw>`. */
const answered = (who: string, src: (f: Fabric) => string) => (f: Fabric) =>
  new RegExp(`^${who.replace(/\//g, '\\/')} ${src(f).replace(/\./g, '\\.')}$`);

export const FLOWS: Flow[] = [
  { name: 'node → Pod (primary ENI)', from: node('n1'), to: pod('n1', 'p'), probes: both, expect: ok },
  { name: 'node → Pod (secondary ENI)', from: node('n1'), to: pod('n1', 's1'), probes: both, expect: ok },
  { name: 'Pod (primary ENI) → node', from: pod('n1', 'p'), to: node('n1'), probes: both, expect: ok },
  { name: 'Pod (secondary ENI) → node', from: pod('n1', 's1'), to: node('n1'), probes: both, expect: ok },
  { name: 'same node: primary → secondary', from: pod('n1', 'p'), to: pod('n1', 's1'), probes: both, expect: ok },
  { name: 'same node: secondary → primary', from: pod('n1', 's1'), to: pod('n1', 'p'), probes: both, expect: ok },
  { name: 'same node: secondary → secondary', from: pod('n1', 's1'), to: pod('n1', 's2'), probes: both, expect: ok },
  { name: 'across nodes: primary → primary', from: pod('n1', 'p'), to: pod('n2', 'p'), probes: both, expect: ok },
  { name: 'across nodes: primary → secondary', from: pod('n1', 'p'), to: pod('n2', 's1'), probes: both, expect: ok },
  { name: 'across nodes: secondary → primary', from: pod('n1', 's1'), to: pod('n2', 'p'), probes: both, expect: ok },
  {
    name: 'across nodes: secondary → secondary',
    from: pod('n1', 's1'),
    to: pod('n2', 's1'),
    probes: both,
    expect: ok,
  },
  {
    name: 'Pod → ClusterIP, endpoint on the same node (both secondary)',
    from: pod('n1', 's1'),
    to: fixed(`ClusterIP ${CLUSTER_IP}:${CLUSTER_PORT}`, CLUSTER_IP, CLUSTER_PORT),
    probes: ['tcp'],
    expect: { ok: true, answer: answered(`${SERVICE_POD.node}/${SERVICE_POD.name}`, (f) => f.pod('n1', 's1').ip) },
  },
  {
    name: 'Pod (primary ENI) → Internet, SNAT on',
    from: pod('n1', 'p'),
    to: fixed('Internet host', INTERNET_HOST),
    probes: both,
    expect: { ok: true, answer: answered('internet', () => PUBLIC_IPS.n1!) },
  },
  {
    name: 'Pod (secondary ENI) → Internet, SNAT on',
    from: pod('n1', 's1'),
    to: fixed('Internet host', INTERNET_HOST),
    probes: both,
    expect: { ok: true, answer: answered('internet', () => PUBLIC_IPS.n1!) },
  },
  {
    name: 'Pod (secondary ENI) → Internet, EXTERNALSNAT=true',
    from: pod('n2', 's1'),
    to: fixed('Internet host', INTERNET_HOST),
    probes: both,
    expect: { ok: false, blockedBy: /^igw\.src_not_primary$/, where: 'igw: source not a primary address' },
  },
  {
    name: 'Pod (secondary ENI) → Internet, destination in EXCLUDE_SNAT_CIDRS',
    from: pod('n1', 's1'),
    to: fixed('Internet host (excluded CIDR)', INTERNET_EXCLUDED_HOST),
    probes: both,
    expect: { ok: false, blockedBy: /^igw\.src_not_primary$/, where: 'igw: source not a primary address' },
  },
  {
    name: 'Internet → node public IP:NodePort (eTP Local) → Pod (secondary ENI), and the reply',
    from: internet,
    to: fixed(`${PUBLIC_IPS.n1}:${NODE_PORT} → ${SERVICE_POD.node}/${SERVICE_POD.name}`, PUBLIC_IPS.n1!, NODE_PORT),
    probes: ['tcp'],
    expect: { ok: true, answer: answered(`${SERVICE_POD.node}/${SERVICE_POD.name}`, () => INTERNET_HOST) },
  },
  {
    name: 'Pod (secondary ENI) → 169.254.169.254 (IMDSv2)',
    from: pod('n1', 's1'),
    to: fixed('instance metadata', IMDS_ADDRESS, 80),
    probes: ['imds'],
    expect: { ok: true, answer: (f) => new RegExp(`^${f.cloud.instanceOf('n1')}$`) },
  },
];

export interface FlowRun {
  ok: boolean;
  /** One line per probe: `ping: reply`, `tcp: n2/p 10.0.0.135`. */
  details: string[];
  /** The answer did not match what EC2 would give (wrong source address, wrong server). */
  mismatch?: string;
}

/** Runs the flow's probes in order; a flow works when every probe does and the answer is the expected one. */
export async function runFlow(flow: Flow, f: Fabric): Promise<FlowRun> {
  const from = flow.from(f);
  const to = flow.to(f);
  const details: string[] = [];
  let ok = true;
  let mismatch: string | undefined;
  for (const p of flow.probes) {
    let r: ProbeResult;
    if (p === 'ping') r = await ping(from.ns, to.ip);
    else if (p === 'tcp') r = await tcp(from.ns, to.ip, to.port ?? ECHO_PORT);
    else r = await imds(from.ns, to.ip);
    details.push(`${p}: ${r.detail}`);
    ok &&= r.ok;
    const want = flow.expect.ok && p !== 'ping' ? flow.expect.answer?.(f) : undefined;
    if (r.ok && want && !want.test(r.detail)) mismatch = `${p} answered "${r.detail}", expected ${want}`;
  }
  return { ok: ok && !mismatch, details, ...(mismatch ? { mismatch } : {}) };
}
