/**
 * @module probes: ping, a TCP connect, an IMDS request, from inside a namespace, each with a short deadline
 * The clients are plain tools run with `ip netns exec` (ping, bash's /dev/tcp, curl), so what they measure is
 * the kernel's data path and nothing of Node. The TCP servers they talk to are echo servers in this worker
 * listening inside the target namespace: each answers one line, `<name> <client address as seen>`, so a flow
 * can tell not only that it connected but who answered and which source address arrived (SNAT, DNAT and
 * `externalTrafficPolicy: Local` are all about that address).
 */
import * as net from 'node:net';
import { inNs, runRaw } from './exec.js';
import { listenIn } from './ns-socket.js';

export const ECHO_PORT = 8080;
/**
 * `net.ipv4.tcp_synack_retries` where echo servers run (Pods, nodes, the Internet host): a flow that failed
 * must not keep sending SYN-ACKs for a minute after its probe gave up, or the next flow's counters show them.
 */
export const QUIET_SERVER_SYNACK_RETRIES = 0;

export interface ProbeResult {
  ok: boolean;
  /** What the tool said: the echo line, ping's ICMP error, curl's answer, or why it gave up. */
  detail: string;
}

/** An echo server in `ns` on 0.0.0.0:port. */
export async function echoServer(ns: string, name: string, port = ECHO_PORT): Promise<net.Server> {
  const server = net.createServer((c) => {
    c.on('error', () => undefined);
    c.end(`${name} ${c.remoteAddress?.replace(/^::ffff:/, '')}\n`);
  });
  await listenIn(server, ns, '0.0.0.0', port);
  return server;
}

/** One echo request, one second to answer. */
export async function ping(ns: string, dst: string): Promise<ProbeResult> {
  const r = await runRaw(inNs(ns, 'ping', '-n', '-c', '1', '-W', '1', dst), undefined, 4000);
  if (r.code === 0) return { ok: true, detail: 'reply' };
  // Without -q ping prints the ICMP error it got ("From 10.0.1.1 icmp_seq=1 Time to live exceeded").
  const err = r.stdout.split('\n').find((l) => l.startsWith('From '));
  return { ok: false, detail: err ? err.replace(/ icmp_seq=\d+/, '') : 'no reply within 1 s' };
}

/**
 * A TCP connect to dst:port and the server's one-line answer, 1.5 s in all. The address and port reach
 * bash as positional parameters, never as shell text.
 */
export async function tcp(ns: string, dst: string, port: number): Promise<ProbeResult> {
  const script = 'exec 3<>"/dev/tcp/$0/$1" || exit 3; IFS= read -r -t 1 line <&3; printf "%s" "$line"';
  const argv = inNs(ns, 'timeout', '-k', '0.2', '1.5', 'bash', '-c', script, dst, String(port));
  const r = await runRaw(argv, undefined, 4000);
  if (r.code === 0 && r.stdout) return { ok: true, detail: r.stdout.trim() };
  if (r.code === 124 || r.code === 137) return { ok: false, detail: 'no answer within 1.5 s (SYN or SYN-ACK lost)' };
  const why = r.stderr
    .split('\n')
    .find((l) => /\/dev\/tcp/.test(l))
    ?.replace(/^.*\/dev\/tcp\/[^:]*: /, '');
  return { ok: false, detail: why ?? (r.stderr.trim() || `exit ${r.code}`) };
}

/** IMDSv2 from `ns`: a token, then `meta-data/instance-id`; the detail is the instance that answered. */
export async function imds(ns: string, address = '169.254.169.254'): Promise<ProbeResult> {
  const base = `http://${address}/latest`;
  const script =
    'T=$(curl -sf --noproxy "*" --max-time 1 -X PUT -H "x-aws-ec2-metadata-token-ttl-seconds: 60" "$0/api/token")' +
    ' || exit 3; curl -sf --noproxy "*" --max-time 1 -H "x-aws-ec2-metadata-token: $T" "$0/meta-data/instance-id"';
  const r = await runRaw(inNs(ns, 'bash', '-c', script, base), undefined, 5000);
  if (r.code === 0 && r.stdout) return { ok: true, detail: r.stdout.trim() };
  return { ok: false, detail: r.code === 3 ? 'no IMDS token (PUT failed or timed out)' : `curl exit ${r.code}` };
}
