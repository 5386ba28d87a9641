import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AWS_CHECKPOINT_VERSION,
  parseAwsCheckpoint,
  readAwsCheckpoint,
  writeAwsCheckpoint,
  type AwsAllocation,
} from '../../../ipamd/adopt/aws-checkpoint.js';
import { refusedBy } from './refused.js';

// A file as aws-node v1.23.1 writes it (json.Encoder of CheckpointData, data_store.go @b52188387f2e).
const AWS_TEXT =
  '{"version":"vpc-cni-ipam/1","allocations":[{"networkName":"aws-cni","containerID":"c0ffee01","ifName":"eth0",' +
  '"ipv4":"10.0.1.23","allocationTimestamp":1764770000123456789,' +
  '"metadata":{"k8sPodNamespace":"default","k8sPodName":"web-0","interfacesCount":1}}]}\n';

const refusal = (text: string) => refusedBy(() => parseAwsCheckpoint(text, 'ipam.json'));

describe('AWS VPC CNI checkpoint', () => {
  it('reads the exact format aws-node writes', () => {
    const cp = parseAwsCheckpoint(AWS_TEXT, 'ipam.json');
    expect(cp.allocations).toEqual([
      {
        networkName: 'aws-cni',
        containerID: 'c0ffee01',
        ifName: 'eth0',
        ipv4: '10.0.1.23',
        // Go's int64 nanoseconds, read as the nearest double (ms is all adoption takes from it).
        allocationTimestamp: 1764770000123456800,
        metadata: { k8sPodNamespace: 'default', k8sPodName: 'web-0', interfacesCount: 1 },
      },
    ]);
  });

  it('reads a fresh node (Go encodes the empty slice as null)', () => {
    expect(parseAwsCheckpoint('{"version":"vpc-cni-ipam/1","allocations":null}', 'f').allocations).toEqual([]);
  });

  it('refuses another version, naming it', () => {
    const e = refusal('{"version":"vpc-cni-ipam/2","allocations":[]}');
    expect(e.refusal).toBe('checkpoint-version');
    expect(e.message).toContain('"vpc-cni-ipam/2"');
  });

  it('refuses what is not JSON, and names the first bad entry', () => {
    expect(refusal('{"version":').refusal).toBe('checkpoint-unreadable');
    const bad = JSON.parse(AWS_TEXT) as { allocations: Array<Record<string, unknown>> };
    bad.allocations.push({ ...bad.allocations[0], ipv4: '10.0.1.023' });
    const e = refusal(JSON.stringify(bad));
    expect(e.refusal).toBe('checkpoint-invalid');
    expect(e.item).toBe('ipam.json allocations[1]');
    for (const broken of [{ containerID: '../x' }, { ipv4: undefined }, { allocationTimestamp: 'now' }]) {
      const one = { version: AWS_CHECKPOINT_VERSION, allocations: [{ ...bad.allocations[0], ...broken }] };
      expect(refusal(JSON.stringify(one)).refusal).toBe('checkpoint-invalid');
    }
  });

  it('a missing file is a node without Pods; written back by temp file and rename, it reads the same', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aws-cp-'));
    const file = join(dir, 'ipam.json');
    expect(await readAwsCheckpoint(file)).toBeUndefined();
    writeFileSync(file, AWS_TEXT);
    const cp = (await readAwsCheckpoint(file))!;
    await writeAwsCheckpoint(file, cp.allocations);
    // Same entries; nanoseconds beyond a double's precision (2^53) are not kept: ms is all the timestamp means here.
    expect(parseAwsCheckpoint(readFileSync(file, 'utf8'), file)).toEqual(cp);
    expect(readFileSync(file, 'utf8')).toMatch(/^\{"version":"vpc-cni-ipam\/1","allocations":\[\{"networkName".*\}\n$/);
    expect(readdirSync(dir)).toEqual(['ipam.json']);
    const more: AwsAllocation[] = [...cp.allocations, { ...cp.allocations[0]!, containerID: 'c2', ipv4: '10.0.1.24' }];
    await writeAwsCheckpoint(file, more);
    expect((await readAwsCheckpoint(file))!.allocations).toHaveLength(2);
  });
});
