/**
 * @module sim report
 * The readable summary `vpc-ipamctl simulate` prints without `--json`: the
 * same figures, with their units and what they mean, and the policy's own
 * explanation of the pool size at the end of the trace.
 */
import type { SimulationRun } from './engine.js';

export interface ReportContext {
  trace: string;
  instanceType: string;
  subnetCidr: string;
  env: Record<string, string>;
  /** Real time the replay took. */
  wallMs: number;
}

function duration(s: number): string {
  if (s >= 7200) return `${(s / 3600).toFixed(1)} h`;
  if (s >= 120) return `${(s / 60).toFixed(1)} min`;
  return `${s.toFixed(1)} s`;
}

export function formatSummary(run: SimulationRun, ctx: ReportContext): string {
  const r = run.result;
  const settings = Object.entries(ctx.env).map(([k, v]) => `${k}=${v}`);
  const calls = Object.entries(r.apiCalls.byAction)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const row = (k: string, v: string) => `  ${k.padEnd(34)} ${v}`;
  return [
    `Replayed ${duration(r.durationS)} of churn from ${ctx.trace} (${run.adds} ADDs) ` +
      `on one ${ctx.instanceType} in ${ctx.subnetCidr}`,
    `with ${settings.length ? settings.join(' ') : 'the defaults (WARM_ENI_TARGET=1)'}; ` +
      `ipamd was ready after ${(run.startupMs / 1000).toFixed(2)} s (virtual).`,
    '',
    row('idle IPs (time-weighted average)', `${r.avgIdleIps}   held but not assigned, cooling included`),
    row('peak IPs held', String(r.peakIpsHeld)),
    row('Pod wait p50 / p99 / max', `${r.podWaitP50Ms} / ${r.podWaitP99Ms} / ${r.podWaitMaxMs} ms`),
    row('Pods that waited for an address', `${r.podsWaited} of ${run.adds}`),
    row('failed ADDs', String(r.failedAdds)),
    row('cloud API calls', `${r.apiCalls.total}${calls ? `  (${calls})` : ''}`),
    '',
    `At the end: ${run.policyExplain}`,
    `Replayed in ${(ctx.wallMs / 1000).toFixed(2)} s of real time.`,
  ].join('\n');
}
