/**
 * @module ctl add/del
 * `vpc-ipamctl add|del --container ID [--network N] [--ifname eth0] [--socket PATH]`:
 * ask ipamd for an address (or release one) exactly as the CNI plugin would,
 * without touching any network namespace. For demos and troubleshooting.
 */
import { DEFAULT_SOCKET_PATH, PROTOCOL_VERSION } from '../../../cni/contract/protocol.js';
import { parseFlags, UsageError, type CtlCommand } from '../command.js';
import { addReplyBudgetMs, callIpamd } from '../../../cni/contract/socket-client.js';

/** What the CLI gives ipamd to answer, on top of the pool wait for an ADD (the CNI plugin's default too). */
const CALL_TIMEOUT_MS = 30_000;

function podCommand(op: 'add' | 'del'): CtlCommand {
  return {
    name: op,
    summary:
      op === 'add' ? 'assign an address to a container ID (no netns plumbing)' : "release a container ID's address",
    usage: `vpc-ipamctl ${op} --container ID [--network vpc-ipam] [--ifname eth0] [--socket ${DEFAULT_SOCKET_PATH}]`,
    async run(argv, settings) {
      const { flags } = parseFlags(argv, {
        container: 'string',
        network: 'string',
        ifname: 'string',
        socket: 'string',
      });
      if (!flags.container) throw new UsageError('--container is required');
      const socket = (flags.socket as string | undefined) ?? settings.socketPath ?? DEFAULT_SOCKET_PATH;
      const res = await callIpamd(
        socket,
        {
          v: PROTOCOL_VERSION,
          op,
          network: (flags.network as string | undefined) ?? 'vpc-ipam',
          containerId: flags.container as string,
          ifName: (flags.ifname as string | undefined) ?? 'eth0',
        },
        // An ADD may wait for the pool to grow before it is answered: not a dead daemon.
        op === 'add' ? addReplyBudgetMs(settings.addWaitMs, CALL_TIMEOUT_MS) : CALL_TIMEOUT_MS,
      );
      process.stdout.write(JSON.stringify(res) + '\n');
      return res.ok ? 0 : 1;
    },
  };
}

export const addCommand = podCommand('add');
export const delCommand = podCommand('del');
