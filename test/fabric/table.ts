/**
 * @module the matrix as a table
 * One row per flow: what EC2 would do, what happened, and for a failure the drop counters that grew while
 * it ran (or, when nothing counted a drop, what the probe itself reported). Plain text, so it reads the same
 * in a terminal, a CI log and an issue comment.
 */

export interface Row {
  n: number;
  flow: string;
  expected: string;
  result: 'PASS' | 'FAIL';
  /** What happened: the probe answers, or the drop reasons. */
  why: string;
}

const WIDTHS = { n: 2, flow: 66, expected: 42, result: 4 };

function cut(s: string, w: number): string {
  return s.length <= w ? s.padEnd(w) : `${s.slice(0, w - 1)}…`;
}

/** Rows as a table; the last column wraps instead of being cut, since it is the evidence. */
export function renderTable(rows: Row[]): string {
  const head =
    `${cut('#', WIDTHS.n)} | ${cut('flow', WIDTHS.flow)} | ${cut('expected', WIDTHS.expected)} | ` +
    `${cut('res', WIDTHS.result)} | observed / why`;
  const out = [head, '-'.repeat(head.length + 30)];
  const indent = ' '.repeat(WIDTHS.n + WIDTHS.flow + WIDTHS.expected + WIDTHS.result + 12);
  for (const r of [...rows].sort((a, b) => a.n - b.n)) {
    const parts = r.why.split('; ');
    out.push(
      `${cut(String(r.n), WIDTHS.n)} | ${cut(r.flow, WIDTHS.flow)} | ${cut(r.expected, WIDTHS.expected)} | ` +
        `${cut(r.result, WIDTHS.result)} | ${parts[0] ?? ''}`,
    );
    for (const p of parts.slice(1)) out.push(`${indent}${p}`);
  }
  const failed = rows.filter((r) => r.result === 'FAIL').length;
  out.push('', `${rows.length - failed} of ${rows.length} flows behave as on EC2; ${failed} do not.`);
  return out.join('\n');
}
