/**
 * @module ec2 limits generator
 * Builds `ec2-limits.json`, the committed per-type table behind
 * {@link lookupEc2Limits}, from a DescribeInstanceTypes dump
 * (`ec2-instance-types.json`, moto's published data).
 *
 * Usage (from the repo root):
 *   npx tsx providers/limits/generate.ts [path-to-ec2-instance-types.json]
 * Default input: `../shared/data/ec2-instance-types.json` relative to the repo root.
 *
 * Like the VPC CNI's `scripts/gen_vpc_ip_limits.go`, the interface limit is
 * the *default network card's* MaximumNetworkInterfaces, not the instance
 * total: ipamd only attaches to the default card, and multi-card types
 * (p4d, trn1, c6in.32xlarge) would otherwise be over-counted.
 *
 * The output keeps one line per type so a refresh is a readable diff.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EC2_LIMIT_COLUMNS, type Ec2LimitsFile, type Ec2LimitsRow } from './ec2-limits-format.js';

interface SourceNetworkCard {
  index: number;
  maxEnis: number;
}

interface SourceType {
  vcpus: number;
  hypervisor: string | null;
  bareMetal: boolean;
  maxEnis: number;
  ipv4PerEni: number;
  networkCards: SourceNetworkCard[];
  defaultNetworkCardIndex: number;
}

interface SourceFile {
  source: string;
  count: number;
  types: Record<string, SourceType>;
}

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
const defaultInput = resolve(repoRoot, '..', 'shared', 'data', 'ec2-instance-types.json');
const outputPath = resolve(here, 'ec2-limits.json');

function fail(message: string): never {
  process.stderr.write(`generate-ec2-limits: ${message}\n`);
  process.exit(1);
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/** One row; rejects anything that would make a silently wrong limit. */
export function toRow(name: string, t: SourceType): Ec2LimitsRow {
  const card = t.networkCards.find((c) => c.index === t.defaultNetworkCardIndex);
  // Single-card types sometimes come without a card list; the total is then the card's.
  const maxInterfaces = card?.maxEnis ?? t.maxEnis;
  if (!isPositiveInt(maxInterfaces)) throw new Error(`${name}: bad interface limit ${String(maxInterfaces)}`);
  if (!isPositiveInt(t.ipv4PerEni)) throw new Error(`${name}: bad ipv4PerEni ${String(t.ipv4PerEni)}`);
  if (!isPositiveInt(t.vcpus)) throw new Error(`${name}: bad vcpus ${String(t.vcpus)}`);
  const hypervisor = t.hypervisor === 'nitro' || t.hypervisor === 'xen' ? t.hypervisor : null;
  const bareMetal = t.bareMetal === true;
  const cards = t.networkCards.length;
  if (cards <= 1) return [maxInterfaces, t.ipv4PerEni, t.vcpus, hypervisor, bareMetal];
  // The table keeps one per-card limit, so cards that differ would be misreported: refuse them.
  if (t.networkCards.some((c) => c.maxEnis !== maxInterfaces)) {
    throw new Error(`${name}: network cards differ in interface limit`);
  }
  return [maxInterfaces, t.ipv4PerEni, t.vcpus, hypervisor, bareMetal, cards];
}

/** Serialises the table with one type per line (JSON.stringify would give one value per line). */
export function render(file: Ec2LimitsFile): string {
  const names = Object.keys(file.types).sort();
  const lines = names.map(
    (n, i) => `    ${JSON.stringify(n)}: ${JSON.stringify(file.types[n])}${i < names.length - 1 ? ',' : ''}`,
  );
  return [
    '{',
    `  "source": ${JSON.stringify(file.source)},`,
    `  "columns": ${JSON.stringify(file.columns)},`,
    '  "types": {',
    ...lines,
    '  }',
    '}',
    '',
  ].join('\n');
}

function main(): void {
  const input = process.argv[2] ? resolve(process.argv[2]) : defaultInput;
  let src: SourceFile;
  try {
    src = JSON.parse(readFileSync(input, 'utf8')) as SourceFile;
  } catch (err) {
    fail(`cannot read ${input}: ${(err as Error).message}`);
  }
  if (typeof src.types !== 'object' || src.types === null) fail(`${input}: no "types" object`);
  const types: Record<string, Ec2LimitsRow> = {};
  for (const [name, t] of Object.entries(src.types)) {
    try {
      types[name] = toRow(name, t);
    } catch (err) {
      fail((err as Error).message);
    }
  }
  const count = Object.keys(types).length;
  if (typeof src.count === 'number' && src.count !== count)
    fail(`${input}: header says ${src.count} types, found ${count}`);
  const file: Ec2LimitsFile = {
    source: `${src.source} (via providers/limits/generate.ts; maxInterfaces = default network card)`,
    columns: [...EC2_LIMIT_COLUMNS],
    types,
  };
  writeFileSync(outputPath, render(file));
  process.stdout.write(`wrote ${count} instance types to ${outputPath}\n`);
}

// Only run when executed, so tests can import toRow/render.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
