/**
 * @module ctl max-pods
 * `vpc-ipamctl max-pods --instance-type TYPE [--prefix-delegation]
 * [--custom-networking] [--max-eni N] [--show-max-allowed] [--json]`: the
 * kubelet `--max-pods` value EKS publishes for a type (the
 * max-pods-calculator formula, `providers/limits`: m5.large 29, m5.xlarge
 * 58, m5.large with PD 110), and where vpc-ipam's behaviour on that node
 * differs from what the number assumes. `--json` prints `{"maxPods": N}`.
 *
 * Types missing from the built-in table are looked up with one
 * DescribeInstanceTypes when an AWS region or endpoint is configured
 * (AWS_REGION, AWS_EC2_ENDPOINT), as the VPC CNI does at run time.
 */
import { DescribeInstanceTypesCommand } from '@aws-sdk/client-ec2';
import { ec2MaxPods, lookupEc2Limits, type Ec2InstanceLimits } from '../../../providers/limits/ec2-limits.js';
import { createEc2Client } from '../../../providers/aws/ec2-client.js';
import { mapEc2Error } from '../../../providers/aws/errors.js';
import { toInstanceLimits } from '../../../providers/aws/convert.js';
import type { AwsSettings } from '../../../providers/aws/settings.js';
import { parseFlags, UsageError, type CtlCommand } from '../command.js';

type Limits = Pick<
  Ec2InstanceLimits,
  'instanceType' | 'maxInterfaces' | 'ipv4PerInterface' | 'vcpus' | 'hypervisor' | 'bareMetal'
>;

async function describeType(instanceType: string, s: AwsSettings): Promise<Limits> {
  if (!s.region && !s.ec2Endpoint) {
    throw new UsageError(
      `instance type "${instanceType}" is not in the built-in table; ` +
        'set AWS_REGION (and credentials) or AWS_EC2_ENDPOINT to ask EC2',
    );
  }
  const ec2 = createEc2Client({
    region: s.region ?? 'us-east-1',
    endpoint: s.ec2Endpoint,
    maxAttempts: s.maxAttempts,
    httpTimeoutMs: s.httpTimeoutMs,
  });
  try {
    const out = await ec2
      .send(new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as never] }))
      .catch((err: unknown) => {
        throw mapEc2Error(err, 'DescribeInstanceTypes');
      });
    const info = out.InstanceTypes?.find((t) => t.InstanceType === instanceType);
    if (!info) throw new UsageError(`EC2 does not know instance type "${instanceType}"`);
    const l = toInstanceLimits(info);
    return {
      instanceType,
      maxInterfaces: l.maxInterfaces,
      ipv4PerInterface: l.ipv4PerInterface,
      vcpus: info.VCpuInfo?.DefaultVCpus ?? 0,
      hypervisor: info.Hypervisor === 'nitro' ? 'nitro' : info.Hypervisor === 'xen' ? 'xen' : null,
      bareMetal: info.BareMetal === true,
    };
  } finally {
    ec2.destroy();
  }
}

/** Where vpc-ipam on this node behaves differently from what the EKS number assumes. */
export function differences(
  l: Limits,
  o: { pd: boolean; custom: boolean; maxEni?: number },
  maxPods: number,
): string[] {
  const notes: string[] = [];
  const enis = Math.max(0, Math.min(l.maxInterfaces, o.maxEni ?? Infinity) - (o.custom ? 1 : 0));
  const pdWorks = l.hypervisor === 'nitro' || l.bareMetal;
  if (o.pd && !pdWorks) {
    notes.push(
      `${l.instanceType} is not Nitro: EKS silently uses the secondary-IP formula; ` +
        'vpc-ipam refuses to start with ENABLE_PREFIX_DELEGATION=true on it.',
    );
  }
  if (o.pd && pdWorks && l.hypervisor !== 'nitro') {
    notes.push(
      'bare metal: the EKS calculator counts no prefixes (it tests hypervisor=nitro), but vpc-ipam delegates ' +
        'prefixes here, like the VPC CNI.',
    );
  }
  const capacity = enis * (l.ipv4PerInterface - 1) * (o.pd && pdWorks ? 16 : 1);
  if (capacity + 2 > maxPods) {
    notes.push(
      `vpc-ipam can hold ${capacity} Pod addresses here; ` +
        `the value is capped at ${maxPods} for the kubelet, not by addresses.`,
    );
  }
  if (o.pd && pdWorks) {
    const fallback = enis * (l.ipv4PerInterface - 1);
    if (fallback + 2 < maxPods) {
      notes.push(
        'with PREFIX_FALLBACK_TO_IPS=true and no free /28 left, the node grows with /32s: ' +
          `at most ${fallback} Pod addresses (${fallback + 2} pods) until prefixes return.`,
      );
    }
  }
  notes.push(
    'addresses in IP_COOLDOWN_PERIOD are not handed out (the VPC CNI counts them as free): under heavy churn fewer ' +
      'than this many Pods may start at once.',
  );
  return notes;
}

export const maxPodsCommand: CtlCommand = {
  name: 'max-pods',
  summary: 'the kubelet --max-pods EKS publishes for an instance type, and where vpc-ipam differs',
  usage:
    'vpc-ipamctl max-pods --instance-type TYPE [--prefix-delegation] [--custom-networking] [--max-eni N] ' +
    '[--show-max-allowed] [--json]',
  async run(argv, settings) {
    const { flags, rest } = parseFlags(argv, {
      'instance-type': 'string',
      'prefix-delegation': 'boolean',
      'custom-networking': 'boolean',
      'max-eni': 'string',
      'show-max-allowed': 'boolean',
      json: 'boolean',
    });
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const type = flags['instance-type'] as string | undefined;
    if (!type) throw new UsageError('--instance-type is required');
    let maxEni: number | undefined;
    if (flags['max-eni'] !== undefined) {
      maxEni = Number(flags['max-eni']);
      if (!Number.isInteger(maxEni) || maxEni < 1)
        throw new UsageError(`--max-eni must be a whole number >= 1, got "${flags['max-eni']}"`);
    }
    const limits: Limits = lookupEc2Limits(type) ?? (await describeType(type, settings.aws()));
    const pd = flags['prefix-delegation'] === true;
    const custom = flags['custom-networking'] === true;
    const maxPods = ec2MaxPods(limits, {
      prefixDelegation: pd,
      customNetworking: custom,
      maxEnis: maxEni,
      showMaxAllowed: flags['show-max-allowed'] === true,
    });
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ maxPods })}\n`);
      return 0;
    }
    const enis = Math.max(0, Math.min(limits.maxInterfaces, maxEni ?? Infinity) - (custom ? 1 : 0));
    const formula =
      pd && limits.hypervisor === 'nitro'
        ? `${enis} ENIs × ((${limits.ipv4PerInterface} − 1) × 16) + 2`
        : `${enis} ENIs × (${limits.ipv4PerInterface} − 1) + 2`;
    const uncapped = ec2MaxPods(limits, {
      prefixDelegation: pd,
      customNetworking: custom,
      maxEnis: maxEni,
      showMaxAllowed: true,
    });
    const cap = uncapped > maxPods ? ` = ${uncapped}, capped at ${maxPods} for ${limits.vcpus} vCPUs` : '';
    process.stdout.write(`${type}: max pods ${maxPods} (EKS: ${formula}${cap})\n`);
    process.stdout.write(
      `where vpc-ipam differs:\n${differences(limits, { pd, custom, maxEni }, maxPods)
        .map((n) => `  - ${n}`)
        .join('\n')}\n`,
    );
    return 0;
  },
};
