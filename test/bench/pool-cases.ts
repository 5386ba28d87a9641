/**
 * @module pool benchmark cases
 * The traces and policies `npm run bench:pool` compares, and the goal of
 * issue 5 as a check over measured results (never over hand-entered ones).
 */
import type { AdaptivePolicyOptions } from '../../ipamd/pool/adaptive-policy.js';
import { DEFAULT_RECURRING } from '../../ipamd/pool/adaptive-signals.js';
import type { SimulationResult } from '../../ipamd/sim/engine.js';

export interface TraceCase {
  name: string;
  /** Path relative to the repository. */
  file: string;
  instanceType: string;
  why: string;
}

export interface PolicyCase {
  name: string;
  env: Record<string, string>;
  /** Options of the adaptive policy the environment cannot carry (simulate's `adaptive`). */
  adaptive?: Partial<AdaptivePolicyOptions>;
  why: string;
}

export const TRACE_CASES: TraceCase[] = [
  {
    name: 'steady',
    file: 'test/bench/traces/steady.csv',
    instanceType: 'm5.4xlarge',
    why:
      'the shared steady trace; 55 Pods at peak do not fit an m5.large (27 Pod addresses) nor an m5.xlarge (56, ' +
      'no room for addresses in cooldown), so every policy would only be measured waiting for capacity',
  },
  {
    name: 'ci-bursty',
    file: 'test/bench/traces/ci-bursty.csv',
    instanceType: 'm5.large',
    why: 'CI jobs: build Pods with services, some matrix fan-outs',
  },
  {
    name: 'diurnal',
    file: 'test/bench/traces/diurnal.csv',
    instanceType: 'm5.large',
    why: 'a web tier under an HPA over a day',
  },
  {
    name: 'rollouts',
    file: 'test/bench/traces/rollouts.csv',
    instanceType: 'm5.large',
    why: 'Deployment rollouts in maxSurge waves, nightly restarts',
  },
  {
    name: 'cron-bursts',
    file: 'test/bench/traces/cron-bursts.csv',
    instanceType: 'm5.large',
    why: 'CronJobs every 5, 15, 60 min and nightly',
  },
];

export const POLICY_CASES: PolicyCase[] = [
  { name: 'aws-default', env: {}, why: 'WARM_ENI_TARGET=1, the AWS VPC CNI default: a whole interface of free IPs' },
  {
    name: 'tight',
    env: { WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '10' },
    why:
      'WARM_IP_TARGET=1 MINIMUM_IP_TARGET=10: the AWS docs ([eni-and-ip-target.md](' +
      'https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/eni-and-ip-target.md)) suggest MINIMUM_IP_TARGET a ' +
      'little above the Pods a node runs and WARM_IP_TARGET=2; ' +
      "clusters short of subnet space (AWS #2294) go to 1. 10 covers these nodes' quiet-hour Pods",
  },
  {
    name: 'prefix',
    env: { ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' },
    why: 'prefix delegation, one free /28 kept',
  },
  {
    name: 'adaptive',
    env: { WARM_POOL_POLICY: 'adaptive' },
    why: 'WARM_POOL_POLICY=adaptive with its defaults (floor 1, ceiling 64)',
  },
  {
    name: 'adaptive+prefix',
    env: { WARM_POOL_POLICY: 'adaptive', ENABLE_PREFIX_DELEGATION: 'true' },
    why: 'the adaptive policy on /28 prefixes',
  },
];

/** The issue-5 adaptive policy (before issue 17's redesign), replayed beside the current one in the same run. */
export const ADAPTIVE_V1: PolicyCase = {
  name: 'adaptive-v1',
  env: { WARM_POOL_POLICY: 'adaptive' },
  adaptive: { design: 'v1' },
  why: "the adaptive policy as issue 5 left it (design 'v1'): the before column",
};

/**
 * The issue-17 policy as round one left it: the v2 design with the recurring-burst prediction on (round two turned
 * it off by default). Replayed in the family sweep so round two's change is measured before → after in one run.
 */
export const ADAPTIVE_R1: PolicyCase = {
  name: 'adaptive-r1',
  env: { WARM_POOL_POLICY: 'adaptive' },
  adaptive: { recurring: DEFAULT_RECURRING },
  why: 'the adaptive policy as issue 17 round one left it (v2, recurring-burst prediction on)',
};

/** What the family sweep replays on every family trace: the goal's policies, and every policy for the bound. */
export const SWEEP_POLICY_CASES: PolicyCase[] = [
  ...POLICY_CASES.filter((p) => p.name !== 'adaptive+prefix'),
  ADAPTIVE_V1,
  ADAPTIVE_R1,
];

export interface GoalCheck {
  idle: { ok: boolean; adaptive: number; limit: number };
  p99: { ok: boolean; adaptive: number; limit: number };
  waited: { ok: boolean; adaptive: number; tight: number };
}

/**
 * Issue 5's goal for one trace: adaptive holds at most half the default's average idle IPs, its p99 Pod wait is
 * no worse than the default's, and at least 5x fewer Pods wait than with the tight setting (0 waits count as met).
 */
export function checkGoal(byPolicy: Record<string, SimulationResult>): GoalCheck {
  const a = byPolicy.adaptive;
  const d = byPolicy['aws-default'];
  const t = byPolicy.tight;
  if (!a || !d || !t) throw new Error('checkGoal needs the adaptive, aws-default and tight results');
  return {
    idle: { ok: a.avgIdleIps <= d.avgIdleIps / 2, adaptive: a.avgIdleIps, limit: d.avgIdleIps / 2 },
    p99: { ok: a.podWaitP99Ms <= d.podWaitP99Ms, adaptive: a.podWaitP99Ms, limit: d.podWaitP99Ms },
    waited: { ok: a.podsWaited === 0 || a.podsWaited * 5 <= t.podsWaited, adaptive: a.podsWaited, tight: t.podsWaited },
  };
}
