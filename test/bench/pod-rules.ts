/**
 * Per-Pod policy-rule cost (part of `npm run bench:cni`; not a test). Run by cni.ts as a child inside a
 * throwaway network namespace (`ip netns exec`), so the host's rules and routes are never touched.
 *
 * Times the daemon's own NetlinkPlumber setUp and tearDown (veth, addresses, routes, and the ip rules of
 * ipamd/netns/policy-rules.ts) for four wirings, interleaved Pod by Pod in a rotating order:
 *   a) address of the primary interface: rule 512 only (routeTable 0);
 *   b) secondary interface, SNAT on, one VPC CIDR: 512 + one 1536 rule;
 *   c) secondary interface, eight destinations (VPC CIDRs + AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS): 512 + eight;
 *   d) secondary interface, EXTERNALSNAT=true: 512 + `to 0.0.0.0/0`.
 * Prints one JSON object on stdout. BENCH_RULE_PODS (default 60) Pods per variant.
 */
import { execFileSync } from 'node:child_process';
import { NetlinkPlumber } from '../../ipamd/netns/netlink-plumber.js';
import type { PodWiring } from '../../ipamd/netns/plumber.js';

const PODS = Number(process.env.BENCH_RULE_PODS ?? 60);
const NS = `vpcbr${process.pid}-`;

export interface RuleVariant {
  label: string;
  routeTable: number;
  tableDestinations: string[];
}

export const VARIANTS: RuleVariant[] = [
  { label: 'a) primary-interface address (rule 512)', routeTable: 0, tableDestinations: [] },
  { label: 'b) secondary ENI, 1 VPC CIDR', routeTable: 2, tableDestinations: ['10.0.0.0/16'] },
  {
    label: 'c) secondary ENI, 8 destinations',
    routeTable: 2,
    tableDestinations: Array.from({ length: 8 }, (_, i) => `10.${i}.0.0/16`),
  },
  { label: 'd) secondary ENI, EXTERNALSNAT (0.0.0.0/0)', routeTable: 2, tableDestinations: ['0.0.0.0/0'] },
];

export interface RuleCostResult {
  pods: number;
  variants: Array<{ label: string; rulesPerPod: number; setUp: number[]; tearDown: number[] }>;
  iptablesLinesBefore: number;
  iptablesLinesWithPods: number;
}

const sh = (file: string, ...args: string[]): string =>
  execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const ruleCount = (): number => sh('ip', '-4', 'rule', 'show').split('\n').filter(Boolean).length;
const iptablesLines = (): number => {
  try {
    return sh('iptables-save')
      .split('\n')
      .filter((l) => l.startsWith('-A ')).length;
  } catch {
    return -1;
  }
};

async function main(): Promise<void> {
  sh('ip', 'link', 'set', 'lo', 'up');
  const plumber = new NetlinkPlumber();
  const netns = VARIANTS.map((_, v) => {
    sh('ip', 'netns', 'add', `${NS}${v}`);
    return `/run/netns/${NS}${v}`;
  });
  const out: RuleCostResult = {
    pods: PODS,
    variants: VARIANTS.map((v) => ({ label: v.label, rulesPerPod: 0, setUp: [], tearDown: [] })),
    iptablesLinesBefore: iptablesLines(),
    iptablesLinesWithPods: 0,
  };
  try {
    const wiring = (v: number): PodWiring => ({
      containerId: `benchrule${process.pid}v${v}`,
      netnsPath: netns[v]!,
      ifName: 'eth0',
      ip: `192.0.2.${10 + v}`,
      mtu: 9001,
      routeTable: VARIANTS[v]!.routeTable,
      tableDestinations: VARIANTS[v]!.tableDestinations,
    });
    for (let i = -2; i < PODS; i++) {
      // Rotate which variant goes first, so a slow moment of the machine is spread over all four.
      const order = VARIANTS.map((_, k) => (k + Math.max(i, 0)) % VARIANTS.length);
      for (const v of order) {
        const w = wiring(v);
        const before = ruleCount();
        let t = performance.now();
        await plumber.setUp(w);
        const up = performance.now() - t;
        const r = out.variants[v]!;
        r.rulesPerPod = ruleCount() - before;
        if (v === order[order.length - 1] && i === PODS - 1) out.iptablesLinesWithPods = iptablesLines();
        t = performance.now();
        await plumber.tearDown(w);
        const down = performance.now() - t;
        // Two warm-up rounds: the worker thread's first calls and the kernel's first veth are not the cost.
        if (i >= 0) {
          r.setUp.push(up);
          r.tearDown.push(down);
        }
      }
    }
  } finally {
    await plumber.close();
    for (let v = 0; v < VARIANTS.length; v++) sh('ip', 'netns', 'del', `${NS}${v}`);
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};

/** Runs this file as a child in a namespace of its own (never the host's rules) and returns its figures. */
export function measureRuleCost(pods = PODS): RuleCostResult {
  const ns = `vpcbr${process.pid}-host`;
  sh('ip', 'netns', 'add', ns);
  try {
    const json = execFileSync('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', import.meta.filename], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', BENCH_RULE_PODS: String(pods) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return JSON.parse(json) as RuleCostResult;
  } finally {
    sh('ip', 'netns', 'del', ns);
  }
}

/** The markdown of the rule-cost table: medians, ratios to (a), and the marginal cost of one more rule. */
export function ruleCostSection(r: RuleCostResult): string[] {
  const base = r.variants[0]!;
  const [a, b, c] = r.variants;
  const f = (x: number) => x.toFixed(2);
  const perRule = (median(c!.setUp) - median(b!.setUp)) / (c!.rulesPerPod - b!.rulesPerPod);
  const perRuleDown = (median(c!.tearDown) - median(b!.tearDown)) / (c!.rulesPerPod - b!.rulesPerPod);
  return [
    `Per-Pod ip rules (ipamd's NetlinkPlumber in-process, in a throwaway namespace; ${r.pods} Pods per wiring,`,
    'interleaved in rotating order; setUp = veth + addresses + routes + rules, tearDown = the reverse):',
    '',
    '| wiring | ip rules per Pod | setUp median ms | × (a) | tearDown median ms | × (a) |',
    '|---|---|---|---|---|---|',
    ...r.variants.map(
      (v) =>
        `| ${v.label} | ${v.rulesPerPod} | ${f(median(v.setUp))} | ${f(median(v.setUp) / median(base.setUp))} | ` +
        `${f(median(v.tearDown))} | ${f(median(v.tearDown) / median(base.tearDown))} |`,
    ),
    '',
    `Marginal cost of one more 1536 rule (from b to c): setUp ${f(perRule)} ms, tearDown ${f(perRuleDown)} ms; ` +
      `(b)/(a) setUp ${f(median(b!.setUp) / median(a!.setUp))}×. iptables-save rules with a Pod wired: ` +
      `${r.iptablesLinesWithPods} (before: ${r.iptablesLinesBefore}): per-Pod wiring adds no netfilter rule.`,
  ];
}

if (process.argv[1]?.endsWith('pod-rules.ts')) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
