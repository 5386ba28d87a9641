/**
 * @module ctl simulate
 * `vpc-ipamctl simulate --trace FILE --instance-type TYPE [--subnet CIDR]
 * [--env NAME=VALUE ...] [--latency ACTION=MS ...] [--json] [--chart OUT.html]`:
 * replays a per-node Pod churn trace through the real warm-pool engine in
 * virtual time (ipamd/sim/engine.ts) and reports idle addresses, Pod waits
 * and cloud calls, so an operator can compare settings before changing a
 * DaemonSet. The shell environment is ignored: only `--env` settings apply,
 * so a command line reproduces its numbers anywhere.
 *
 * Exit codes: 0 done; 2 bad input (flags, trace, settings), with the reason
 * (and the trace line) on stderr.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { IpamError } from '../../../providers/errors.js';
import { renderChartPage } from '../../sim/chart.js';
import { simulate } from '../../sim/engine.js';
import { checkInstanceType, checkSubnetCidr, parseEnvPairs, parseLatencyPairs } from '../../sim/options.js';
import { formatSummary } from '../../sim/report.js';
import { parseTrace } from '../../sim/trace.js';
import { parseFlags, UsageError, type CtlCommand } from '../command.js';

const USAGE =
  'vpc-ipamctl simulate --trace FILE --instance-type TYPE [--subnet CIDR] [--env NAME=VALUE ...] [--latency ' +
  'ACTION=MS ...] [--json] [--chart OUT.html]';

export const simulateCommand: CtlCommand = {
  name: 'simulate',
  summary: 'replay a Pod churn trace through the warm pool in virtual time; compare settings',
  usage: USAGE,
  async run(argv) {
    const { flags, rest } = parseFlags(argv, {
      trace: 'string',
      'instance-type': 'string',
      subnet: 'string',
      env: 'multi',
      latency: 'multi',
      json: 'boolean',
      chart: 'string',
    });
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const file = flags.trace as string | undefined;
    const type = flags['instance-type'] as string | undefined;
    if (!file) throw new UsageError('--trace is required');
    if (!type) throw new UsageError('--instance-type is required');
    try {
      const env = parseEnvPairs((flags.env as string[] | undefined) ?? []);
      const latency = parseLatencyPairs((flags.latency as string[] | undefined) ?? []);
      checkInstanceType(type);
      const subnetCidr = flags.subnet === undefined ? undefined : checkSubnetCidr(flags.subnet as string);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        return fail(`cannot read trace ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      const trace = parseTrace(text, file);
      const started = performance.now();
      const run = await simulate({ trace, instanceType: type, subnetCidr, env, latency });
      const wallMs = performance.now() - started;
      if (flags.chart) {
        const waits = run.addOutcomes.filter((o) => o.waited).map((o) => o.atMs);
        const settings =
          Object.entries(env)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ') || 'defaults (WARM_ENI_TARGET=1)';
        const html = renderChartPage(`Warm pool replay: ${file} on ${type}`, [
          { heading: settings, result: run.result, timeline: run.timeline, waits, note: run.policyExplain },
        ]);
        await writeFile(flags.chart as string, html);
      }
      if (flags.json) process.stdout.write(JSON.stringify(run.result) + '\n');
      else {
        const summary = formatSummary(run, {
          trace: file,
          instanceType: type,
          subnetCidr: subnetCidr ?? run.config.sim.subnetCidr,
          env,
          wallMs,
        });
        process.stdout.write(summary + (flags.chart ? `\nChart written to ${flags.chart as string}` : '') + '\n');
      }
      return 0;
    } catch (err) {
      // Bad settings, a malformed trace line, an unknown instance type: the input's fault, nothing ran.
      if (IpamError.is(err) && (err.code === 'CONFIG_INVALID' || err.code === 'BAD_REQUEST')) return fail(err.message);
      throw err;
    }
  },
};

function fail(message: string): number {
  process.stderr.write(`vpc-ipamctl simulate: ${message}\n`);
  return 2;
}
