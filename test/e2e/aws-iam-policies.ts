/**
 * The IAM policies of docs/aws.md as the IAM tests use them: the JSON after `<!-- iam:NAME -->`, with its
 * placeholders substituted as an operator would, the actions it lists, and what a refusal decodes to.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { EMULATOR_CREDENTIALS } from '../../providers/aws/ec2-client.js';
import { decodeAuthorizationMessage } from '../../providers/aws/emulator/authorization.js';
import type { IamPolicyDocument } from '../../providers/aws/emulator/iam-policy.js';
import { EMULATOR_ACCOUNT_ID } from '../../providers/aws/emulator/render.js';
import { REPO } from '../helpers/daemon-process.js';
import { sdkAnswer } from '../providers/aws/helpers.js';

/** The cluster the tests' node belongs to. */
export const CLUSTER = 'iam';

/** The policy that follows `<!-- iam:NAME -->` in docs/aws.md, `${CLUSTER_NAME}` and `${VPC_ID}` filled in. */
export function docPolicy(name: 'node' | 'gc', vars: { CLUSTER_NAME: string; VPC_ID: string }): IamPolicyDocument {
  const doc = readFileSync(path.join(REPO, 'docs/aws.md'), 'utf8');
  const at = doc.indexOf(`<!-- iam:${name} -->`);
  if (at < 0) throw new Error(`docs/aws.md has no iam:${name} policy`);
  const json = /```json\n([\s\S]*?)\n```/.exec(doc.slice(at))![1]!;
  const filled = json.replace(/\$\{(CLUSTER_NAME|VPC_ID)\}/g, (_m, k: keyof typeof vars) => vars[k]);
  return JSON.parse(filled) as IamPolicyDocument;
}

/** The EC2 actions a policy names: Allow statements only, no wildcards. */
export function policyActions(policy: IamPolicyDocument): Set<string> {
  const out = new Set<string>();
  for (const s of [policy.Statement].flat()) {
    expect(s.Effect).toBe('Allow');
    for (const a of [s.Action ?? []].flat()) {
      expect(a).toMatch(/^ec2:[A-Za-z]+$/);
      out.add(a.slice(4));
    }
  }
  return out;
}

/** A bare SDK client, one attempt per call (the provider's refuses DryRun before sending it). */
export function bareClient(endpoint: string): EC2Client {
  return new EC2Client({
    region: 'us-east-1',
    endpoint,
    credentials: { ...EMULATOR_CREDENTIALS },
    maxAttempts: 1,
  });
}

/** What `sts:DecodeAuthorizationMessage` says of the refusal `call` must end in. */
export async function refusal(
  call: Promise<unknown>,
): Promise<{ action: string; resource: string; explicitDeny: boolean }> {
  const a = await sdkAnswer(call);
  expect(a).toMatchObject({ name: 'UnauthorizedOperation', status: 403 });
  const decoded = decodeAuthorizationMessage(a.message)!;
  return { action: decoded.context.action, resource: decoded.context.resource, explicitDeny: decoded.explicitDeny };
}

/** `arn:aws:ec2:us-east-1:<account>:<type>/<id>`, as the emulator names its resources. */
export function ec2Arn(type: string, id: string): string {
  return `arn:aws:ec2:us-east-1:${EMULATOR_ACCOUNT_ID}:${type}/${id}`;
}
