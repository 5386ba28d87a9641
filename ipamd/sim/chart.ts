/**
 * @module sim chart
 * A self-contained HTML page (inline SVG and CSS, no scripts, no external
 * assets) showing, over the trace, the addresses the node held, those
 * assigned to Pods, and those cooling down, with a tick for each ADD that
 * had to wait. The gap between "held" and "assigned" is the idle pool the
 * policies are compared on; people read that faster from a picture.
 *
 * A day has ~10^5 pool changes; each chart column shows the time-weighted
 * mean of its slice, and a light band shows the most held in it, so
 * short peaks stay visible.
 */
import type { PoolSample } from './recorder.js';
import type { SimulationResult } from './engine.js';

export interface ChartSection {
  heading: string;
  result: SimulationResult;
  timeline: PoolSample[];
  /** Trace times (ms) of ADDs that found no ready address. */
  waits: number[];
  /** Optional line under the heading (the policy's explanation, the settings). */
  note?: string;
}

const W = 960;
const H = 260;
const PAD = { left: 44, right: 12, top: 12, bottom: 28 };
const COLORS = { held: '#1f6feb', assigned: '#2da44e', cooling: '#d29922', peak: '#1f6feb40', wait: '#cf222e' };

interface Bucket {
  held: number;
  assigned: number;
  cooling: number;
  peak: number;
}

/** Time-weighted means per column over [0, endMs]. */
function bucketize(timeline: PoolSample[], endMs: number, columns: number): Bucket[] {
  const out: Bucket[] = Array.from({ length: columns }, () => ({ held: 0, assigned: 0, cooling: 0, peak: 0 }));
  if (timeline.length === 0 || endMs <= 0) return out;
  const width = endMs / columns;
  for (let i = 0; i < timeline.length; i++) {
    const s = timeline[i]!;
    const from = s.t;
    const to = i + 1 < timeline.length ? timeline[i + 1]!.t : endMs;
    if (to < from) continue;
    const first = Math.min(columns - 1, Math.floor(from / width));
    const last = Math.min(columns - 1, Math.floor(Math.max(from, to - 1e-9) / width));
    for (let c = first; c <= last; c++) {
      const b = out[c]!;
      const lo = Math.max(from, c * width);
      const hi = Math.min(to, (c + 1) * width);
      const f = Math.max(0, hi - lo) / width;
      b.held += s.held * f;
      b.assigned += s.assigned * f;
      b.cooling += s.cooling * f;
      b.peak = Math.max(b.peak, s.held);
    }
  }
  return out;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-9)));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
}

/** One SVG chart of a replay. `yMax` lets several charts share a scale. */
export function renderSvg(section: ChartSection, yMax?: number): string {
  const endMs = Math.max(1, section.result.durationS * 1000);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const buckets = bucketize(section.timeline, endMs, plotW);
  const top = Math.max(1, yMax ?? Math.max(...buckets.map((b) => b.peak), 1));
  const x = (c: number) => PAD.left + c;
  const y = (v: number) => PAD.top + plotH - (v / top) * plotH;
  const line = (k: 'held' | 'assigned' | 'cooling') =>
    buckets.map((b, c) => `${c === 0 ? 'M' : 'L'}${x(c)},${y(b[k]).toFixed(1)}`).join('');
  // Between the slice's mean and its peak: where short peaks went above the line.
  const band =
    buckets.map((b, c) => `${c === 0 ? 'M' : 'L'}${x(c)},${y(b.peak).toFixed(1)}`).join('') +
    buckets
      .map((b, c) => ({ b, c }))
      .reverse()
      .map(({ b, c }) => `L${x(c)},${y(b.held).toFixed(1)}`)
      .join('') +
    'Z';
  const parts: string[] = [];
  const ys = niceStep(top, 5);
  for (let v = 0; v <= top + 1e-9; v += ys) {
    parts.push(
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v)}" y2="${y(v)}" class="grid"/>` +
        `<text x="${PAD.left - 6}" y="${y(v) + 4}" class="ax" text-anchor="end">${v}</text>`,
    );
  }
  const hours = endMs / 3_600_000;
  const xs = hours >= 2 ? niceStep(hours, 8) : niceStep(endMs / 60_000, 8) / 60;
  for (let h = 0; h <= hours + 1e-9; h += xs) {
    const px = x((h / hours) * plotW);
    const label = hours >= 2 ? `${+h.toFixed(2)} h` : `${+(h * 60).toFixed(1)} min`;
    parts.push(
      `<line x1="${px}" x2="${px}" y1="${PAD.top}" y2="${PAD.top + plotH}" class="grid"/>` +
        `<text x="${px}" y="${H - 8}" class="ax" text-anchor="middle">${label}</text>`,
    );
  }
  for (const t of section.waits) {
    const px = x(Math.min(plotW - 1, (t / endMs) * plotW));
    parts.push(
      `<line x1="${px}" x2="${px}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH - 8}" ` +
        `stroke="${COLORS.wait}" stroke-width="1.5"/>`,
    );
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" ` +
      `role="img" aria-label="${esc(section.heading)}">`,
    ...parts,
    `<path d="${band}" fill="${COLORS.peak}" stroke="none"/>`,
    `<path d="${line('held')}" fill="none" stroke="${COLORS.held}" stroke-width="1.5"/>`,
    `<path d="${line('assigned')}" fill="none" stroke="${COLORS.assigned}" stroke-width="1.5"/>`,
    `<path d="${line('cooling')}" fill="none" stroke="${COLORS.cooling}" stroke-width="1.2"/>`,
    '</svg>',
  ].join('\n');
}

function figures(r: SimulationResult): string {
  const rows: Array<[string, string]> = [
    ['avg idle IPs', String(r.avgIdleIps)],
    ['peak IPs held', String(r.peakIpsHeld)],
    ['Pod wait p50 / p99 / max', `${r.podWaitP50Ms} / ${r.podWaitP99Ms} / ${r.podWaitMaxMs} ms`],
    ['Pods waited', String(r.podsWaited)],
    ['failed ADDs', String(r.failedAdds)],
    ['cloud API calls', String(r.apiCalls.total)],
  ];
  return `<table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`;
}

/** The figures table's style, one CSS line of the page. */
const TABLE_CSS =
  'table{border-collapse:collapse;font-size:13px}' +
  'th{text-align:left;font-weight:normal;color:#57606a;padding:2px 12px 2px 0}' +
  'td{text-align:right;font-variant-numeric:tabular-nums}';

/** The whole page; sections share one y scale so policies compare at a glance. */
export function renderChartPage(title: string, sections: ChartSection[], intro?: string): string {
  const yMax = Math.max(1, ...sections.flatMap((s) => s.timeline.map((p) => p.held)));
  const legend =
    `<p class="legend"><span style="color:${COLORS.held}">━ IPs held</span> ` +
    `<span style="color:${COLORS.assigned}">━ assigned to Pods</span> ` +
    `<span style="color:${COLORS.cooling}">━ cooling down</span> ` +
    '<span style="color:#1f6feb88">▇ up to the most held within a column</span> ' +
    `<span style="color:${COLORS.wait}">| an ADD waited</span></p>`;
  const body = sections
    .map(
      (s) =>
        `<section><h2>${esc(s.heading)}</h2>${s.note ? `<p class="note">${esc(s.note)}</p>` : ''}` +
        `<div class="row">${renderSvg(s, yMax)}${figures(s.result)}</div></section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1f2328}
h1{font-size:20px}h2{font-size:16px;margin:20px 0 4px}
.row{display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap}
.grid{stroke:#d0d7de;stroke-width:0.5}.ax{font-size:11px;fill:#57606a}
${TABLE_CSS}
.note{color:#57606a;font-size:12px;margin:0 0 6px;max-width:1200px}.legend span{margin-right:14px}
</style></head><body>
<h1>${esc(title)}</h1>
${intro ? `<p>${esc(intro)}</p>` : ''}
${legend}
${body}
</body></html>
`;
}
