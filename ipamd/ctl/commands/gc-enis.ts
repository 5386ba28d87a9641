/**
 * @module ctl gc-enis
 * `vpc-ipamctl gc-enis [--vpc-id vpc-…] [--cluster NAME] [--grace SECONDS]
 * [--passes N] [--interval SECONDS] [--dry-run] [--json]`: the leaked-ENI
 * sweep (`providers/aws/eni-gc.ts`) for operators. One pass marks detached
 * vpc-ipam ENIs older than the grace period; the next pass (this run with
 * `--passes 2`, or a later run, or the cluster monitor's leader) deletes
 * those still detached. EC2 is reached through AWS_REGION / AWS_EC2_ENDPOINT
 * and the SDK's usual credentials.
 */
import { LeakedEniCollector, type GcPassReport } from '../../../providers/aws/eni-gc.js';
import { createEc2Client } from '../../../providers/aws/ec2-client.js';
import { SystemClock } from '../../util/clock.js';
import { parseFlags, UsageError, type CtlCommand } from '../command.js';

function wholeNumber(raw: unknown, name: string, min: number, max: number, def: number): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${String(raw)}"`);
  return n;
}

export const gcEnisCommand: CtlCommand = {
  name: 'gc-enis',
  summary: 'leaked ENIs: a pass marks detached ones, the next pass deletes them (--passes 2 does both)',
  usage:
    'vpc-ipamctl gc-enis [--vpc-id vpc-…] [--cluster NAME] [--grace 300] [--passes 1] [--interval 0] [--dry-run] ' +
    '[--json]',
  async run(argv, settings) {
    const { flags, rest } = parseFlags(argv, {
      'vpc-id': 'string',
      cluster: 'string',
      grace: 'string',
      passes: 'string',
      interval: 'string',
      'dry-run': 'boolean',
      json: 'boolean',
    });
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const vpcId = flags['vpc-id'] as string | undefined;
    if (vpcId !== undefined && !/^vpc-[0-9a-f]{1,32}$/.test(vpcId))
      throw new UsageError(`--vpc-id must look like vpc-0123abcd, got "${vpcId}"`);
    const graceS = wholeNumber(flags.grace, 'grace', 0, 7 * 86400, 300);
    const passes = wholeNumber(flags.passes, 'passes', 1, 10, 1);
    const intervalS = wholeNumber(flags.interval, 'interval', 0, 86400, 0);
    const s = settings.aws();
    if (!s.region && !s.ec2Endpoint)
      throw new UsageError('set AWS_REGION (or AWS_EC2_ENDPOINT) so the command knows which EC2 to ask');
    const ec2 = createEc2Client({
      region: s.region ?? 'us-east-1',
      endpoint: s.ec2Endpoint,
      maxAttempts: s.maxAttempts,
      httpTimeoutMs: s.httpTimeoutMs,
    });
    const clock = new SystemClock();
    const gc = new LeakedEniCollector({
      ec2,
      clock,
      graceMs: graceS * 1000,
      ...(vpcId ? { vpcId } : {}),
      ...(flags.cluster || s.clusterName
        ? { clusterName: (flags.cluster as string | undefined) ?? s.clusterName }
        : {}),
      dryRun: flags['dry-run'] === true,
    });
    const reports: GcPassReport[] = [];
    try {
      for (let i = 0; i < passes; i++) {
        if (i > 0 && intervalS > 0) await clock.sleep(intervalS * 1000);
        reports.push(await gc.runPass());
      }
    } finally {
      ec2.destroy();
    }
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ dryRun: flags['dry-run'] === true, passes: reports })}\n`);
    } else {
      reports.forEach((r, i) => {
        const verb = flags['dry-run'] ? 'would ' : '';
        const ids = (list: string[]) => (list.length ? ` (${list.join(', ')})` : '');
        const failed = r.failed.length ? `; failed ${r.failed.map((f) => `${f.id}: ${f.code}`).join(', ')}` : '';
        process.stdout.write(
          `pass ${i + 1}: ${r.scanned} detached vpc-ipam ENIs; ${verb}marked ${r.marked.length}${ids(r.marked)}; ` +
            `${verb}deleted ${r.deleted.length}${ids(r.deleted)}; within grace ${r.young.length}${failed}\n`,
        );
      });
    }
    return reports.some((r) => r.failed.length > 0) ? 1 : 0;
  },
};
