/**
 * @module ctl checkpoint
 * `vpc-ipamctl checkpoint verify|repair`: what ipamd checks before it
 * restores a checkpoint (datastore/checkpoint-verify.ts), for an operator
 * whose ipamd refused to start on one, and a reviewed way out.
 *
 * - `verify` exits 0 when the file is consistent, 1 listing every problem.
 * - `repair` writes a consistent copy to a new file beside the original
 *   (`ipam.json.repaired-<UTC time>`, or `--out`), never over an existing
 *   file and never over the original, and prints every dropped or changed
 *   entry (rules in datastore/checkpoint-repair.ts). Putting the copy in
 *   place is the operator's step, with ipamd stopped.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { inspectCheckpoint, formatProblem } from '../../datastore/checkpoint-verify.js';
import { planRepair, type RepairPlan } from '../../datastore/checkpoint-repair.js';
import { readJournaled } from '../../datastore/journal-checkpointer.js';
import { parseFlags, UsageError, type CtlCommand } from '../command.js';

const USAGE = [
  'vpc-ipamctl checkpoint verify [--file PATH | --state-dir DIR] [--json]',
  '       vpc-ipamctl checkpoint repair [--file PATH | --state-dir DIR] [--out PATH] [--keep INDEX]... ' +
    '[--quarantine SECONDS] [--json]',
].join('\n');

function checkpointFile(flags: Record<string, unknown>, stateDir: string | undefined): string {
  if (flags.file && flags['state-dir']) throw new UsageError('give --file or --state-dir, not both');
  if (typeof flags.file === 'string') return path.resolve(flags.file);
  const dir = (flags['state-dir'] as string | undefined) ?? stateDir ?? '/run/vpc-ipam';
  return path.resolve(dir, 'ipam.json');
}

/** The state ipamd would restore: the snapshot with its journal's records (datastore/journal-checkpointer.ts). */
async function readJson(file: string): Promise<unknown> {
  const r = await readJournaled(file);
  if (!r) throw new Error(`cannot read ${file}: ENOENT: no such file or directory`);
  return r.data;
}

function wholeNumber(raw: unknown, name: string): number {
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || !Number.isSafeInteger(n)) {
    throw new UsageError(`--${name} must be a whole number, got "${String(raw)}"`);
  }
  return n;
}

async function verify(file: string, json: boolean): Promise<number> {
  const r = inspectCheckpoint(await readJson(file));
  const ok = !r.fatal && r.problems.length === 0;
  if (json) {
    const body = { file, consistent: ok, ...(r.fatal ? { fatal: r.fatal } : {}), problems: r.problems };
    process.stdout.write(`${JSON.stringify(body)}\n`);
    return ok ? 0 : 1;
  }
  if (r.fatal) process.stdout.write(`${file}: ${r.fatal}\n`);
  else if (ok) process.stdout.write(`${file}: consistent\n`);
  else {
    process.stdout.write(`${file}: ${r.problems.length} problem(s); ipamd refuses to start on it\n`);
    for (const p of r.problems) process.stdout.write(`  ${formatProblem(p)}\n`);
    process.stdout.write(`Run "vpc-ipamctl checkpoint repair --file ${file}" for a reviewed copy.\n`);
  }
  return ok ? 0 : 1;
}

/** `ipam.json.repaired-20250102T030405Z`: sorts by time, and is not a temp name the daemon sweeps. */
function defaultOut(file: string, now: Date): string {
  return `${file}.repaired-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
}

async function writeNew(out: string, text: string): Promise<void> {
  // 'wx': an existing file (an earlier copy, or the original) is never overwritten.
  const fh = await fs.open(out, 'wx', 0o600).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST') throw new Error(`${out} exists; not overwriting it (choose --out)`);
    throw new Error(`cannot create ${out}: ${err.message}`);
  });
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function report(file: string, out: string, plan: RepairPlan, total: number): string {
  const dropped = plan.actions.filter((a) => a.action === 'dropped');
  const lost = dropped.filter((a) => a.holderLost);
  const lines = [
    `repaired copy of ${file} written to ${out}`,
    `  assignments: ${plan.repaired.assignments.length} of ${total} kept; ` +
      `${plan.actions.filter((a) => a.action === 'changed').length} change(s), ${dropped.length} drop(s)`,
  ];
  for (const a of plan.actions) lines.push(`  ${a.action.toUpperCase()} ${a.list}[${a.index}] ${a.entry}: ${a.why}`);
  for (const q of plan.quarantined) {
    const until = new Date(q.until).toISOString();
    lines.push(`  QUARANTINED ${q.ip} as cooling until ${until} (its dropped holder may still use it)`);
  }
  if (lost.length) {
    const n = `${lost.length} entr${lost.length === 1 ? 'y' : 'ies'}`;
    lines.push(
      `  ${n} dropped with a Pod that may exist: re-add those Pods ` +
        '(delete them; controllers recreate them) or choose with --keep.',
    );
  }
  lines.push(
    `The original is unchanged. To use the copy: stop ipamd, review ${out}, move it over ${file}, ` + 'start ipamd.',
  );
  return `${lines.join('\n')}\n`;
}

async function repair(file: string, flags: Record<string, unknown>, json: boolean): Promise<number> {
  const data = await readJson(file);
  const found = inspectCheckpoint(data);
  if (found.fatal) throw new Error(`${file}: ${found.fatal}; cannot repair (nothing in it can be trusted)`);
  if (!found.problems.length) {
    const msg = json ? JSON.stringify({ file, consistent: true }) : `${file}: consistent; nothing to repair`;
    process.stdout.write(`${msg}\n`);
    return 0;
  }
  const keep = ((flags.keep as string[] | undefined) ?? []).map((k) => wholeNumber(k, 'keep'));
  const quarantineMs = flags.quarantine === undefined ? undefined : wholeNumber(flags.quarantine, 'quarantine') * 1000;
  const now = new Date();
  const plan = planRepair(data, { keep, now: now.getTime(), ...(quarantineMs === undefined ? {} : { quarantineMs }) });
  const out = path.resolve((flags.out as string | undefined) ?? defaultOut(file, now));
  if (out === file) throw new UsageError('--out must not be the checkpoint itself');
  await writeNew(out, `${JSON.stringify(plan.repaired)}\n`);
  const total = (data as { assignments: unknown[] }).assignments.length;
  if (json) process.stdout.write(`${JSON.stringify({ file, out, ...plan })}\n`);
  else process.stdout.write(report(file, out, plan, total));
  return 0;
}

export const checkpointCommand: CtlCommand = {
  name: 'checkpoint',
  summary: "verify ipamd's checkpoint, or write a reviewed, consistent copy of it",
  usage: USAGE,
  async run(argv, settings) {
    const { flags, rest } = parseFlags(argv, {
      file: 'string',
      'state-dir': 'string',
      out: 'string',
      keep: 'multi',
      quarantine: 'string',
      json: 'boolean',
    });
    const [sub, ...extra] = rest;
    if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const file = checkpointFile(flags, settings.stateDir);
    const json = flags.json === true;
    if (sub === 'verify') {
      if (flags.out || flags.keep || flags.quarantine) {
        throw new UsageError('--out, --keep and --quarantine are for repair');
      }
      return verify(file, json);
    }
    if (sub === 'repair') return repair(file, flags, json);
    throw new UsageError(sub ? `unknown subcommand "${sub}" (verify or repair)` : 'say verify or repair');
  },
};
