/**
 * @module headroom table
 * Text rendering of subnet reports for `vpc-ipamctl subnets`: one row per
 * subnet, the numbers an operator needs to decide whether to act, and the
 * same meaning as the gauges (docs/capacity.md).
 */
import type { SubnetReport } from './report.js';

/** Seconds as `3d 4h`, `5h 33m`, `12m 5s`; `never` for +Infinity, `-` when unknown. */
export function formatDuration(s: number | undefined | null): string {
  if (s === undefined) return '-';
  // JSON turns +Infinity into null; both mean "not being consumed".
  if (s === null || s === Infinity) return 'never';
  const t = Math.round(s);
  const d = Math.floor(t / 86_400);
  const h = Math.floor((t % 86_400) / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${sec}s`;
  return `${sec}s`;
}

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c < 3 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatSubnetTable(reports: readonly SubnetReport[]): string {
  if (reports.length === 0) return 'no subnets';
  const head = [
    'SUBNET',
    'ZONE',
    'CIDR',
    'TOTAL',
    'USED',
    'FREE',
    'FREE/28',
    'LARGEST',
    'FRAG',
    'HELD',
    'ASSIGNED',
    'RATE/H',
    'ETA',
    'HEADROOM',
  ];
  const rows = reports.map((r) => [
    r.subnetId,
    r.zone,
    r.cidr,
    String(r.total),
    String(r.used),
    String(r.free),
    r.freePrefixBlocks === undefined ? '-' : String(r.freePrefixBlocks),
    r.largestFreeBlock ? `/${r.largestFreeBlock.prefixLength}` : r.freePrefixBlocks === undefined ? '-' : 'none',
    r.fragmentation === undefined ? '-' : `${Math.round(r.fragmentation * 100)}%`,
    String(r.held),
    String(r.assigned),
    r.consumptionPerSecond === undefined ? '-' : (r.consumptionPerSecond * 3600).toFixed(1),
    formatDuration(r.etaSeconds),
    `${r.headroomPods}${r.headroomNodes === undefined ? '' : ` (${r.headroomNodes} nodes)`}`,
  ]);
  const errors = reports
    .filter((r) => r.error)
    .map(
      (r) => `! ${r.subnetId}: last read failed (${r.error}); numbers are from ${new Date(r.sampledAt).toISOString()}`,
    );
  return [pad([head, ...rows]), ...errors].join('\n');
}
