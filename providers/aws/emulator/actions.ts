/**
 * @module ec2 actions
 * The EC2 actions the emulator answers, each a handler over the sim cloud,
 * and how a failure becomes EC2's answer: status, `<Code>` and `<Message>`
 * (cloud-apis.md §1.4-1.5). Refusals decided from the request carry their
 * own status ({@link QueryError}); the sim's typed errors are mapped by kind.
 */
import { CloudError, IpamError } from '../../errors.js';
import type { ActionContext } from './context.js';
import { describeInstanceTypes, describeInstances, describeNetworkInterfaces, describeSubnets } from './describe.js';
import * as m from './mutate.js';
import { QueryError, type QueryParams } from './query.js';

export type Handler = (ctx: ActionContext, p: QueryParams) => string;

export const ACTIONS: Readonly<Record<string, Handler>> = {
  DescribeInstances: describeInstances,
  DescribeInstanceTypes: describeInstanceTypes,
  DescribeNetworkInterfaces: describeNetworkInterfaces,
  DescribeSubnets: describeSubnets,
  CreateNetworkInterface: m.createNetworkInterface,
  AttachNetworkInterface: m.attachNetworkInterface,
  DetachNetworkInterface: m.detachNetworkInterface,
  DeleteNetworkInterface: m.deleteNetworkInterface,
  ModifyNetworkInterfaceAttribute: m.modifyNetworkInterfaceAttribute,
  AssignPrivateIpAddresses: m.assignPrivateIpAddresses,
  UnassignPrivateIpAddresses: m.unassignPrivateIpAddresses,
  CreateTags: m.createTags,
  DeleteTags: m.deleteTags,
};

/** The EC2 actions the emulator answers. */
export const EMULATED_EC2_ACTIONS: readonly string[] = Object.keys(ACTIONS);

function statusFor(err: CloudError): number {
  switch (err.code) {
    case 'CLOUD_THROTTLED':
      return 503;
    case 'CLOUD_UNAUTHORIZED':
      return 403;
    case 'CLOUD_UNAVAILABLE':
      return err.cloudCode === 'Unavailable' ? 503 : 500;
    default:
      return 400;
  }
}

/** The cloud's own message, without the `provider operation: code:` prefix CloudError adds. */
function rawMessage(err: CloudError): string {
  const prefix = `${err.provider} ${err.operation}: ${err.cloudCode}: `;
  return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
}

/** EC2's answer to a request that failed with `err`. */
export function errorAnswer(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof QueryError) return { status: err.status, code: err.code, message: err.message };
  if (CloudError.isCloud(err)) return { status: statusFor(err), code: err.cloudCode, message: rawMessage(err) };
  const code = IpamError.is(err) ? err.code : 'InternalError';
  const message = `An internal error has occurred (${code}: ${(err as Error).message})`;
  return { status: 500, code: 'InternalError', message };
}
