/**
 * What the benchmarks share to report: the median, and replacing one `<!-- bench:NAME:start/end -->` block
 * of the benchmarks document (BENCH_DOC, default docs/benchmarks.md), appended when it does not exist yet.
 */
import * as fs from 'node:fs';

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

export function replaceBlock(doc: string, name: string, body: string): string {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${start}\n${body.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) return doc.slice(0, i) + block + doc.slice(j + end.length);
  return `${doc.trimEnd()}\n\n${block}\n`;
}

/** Writes `body` into the block `name` of `file`, creating the document when it is missing. */
export function writeBlock(file: string, name: string, body: string): void {
  const doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  fs.writeFileSync(file, replaceBlock(doc, name, body));
}
