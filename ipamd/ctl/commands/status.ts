/**
 * @module ctl status
 * `vpc-ipamctl status [--json] [--introspection HOST:PORT|unix:PATH | --socket PATH]`:
 * the pool as the running daemon reports it. From introspection (default):
 * the status line, with the reason for the pool's size. From the socket
 * (`--socket`, as add/del take it): the plugin's STATUS answer (ready, counts),
 * for a node where introspection is off or unreachable; it carries no reason.
 */
import { PROTOCOL_VERSION, type PoolStatus } from '../../../cni/contract/protocol.js';
import { parseFlags, UsageError, type CtlCommand } from '../command.js';
import { callIpamd } from '../../../cni/contract/socket-client.js';
import { introspectionGet } from '../introspection-get.js';

async function fromSocket(socket: string, json: boolean): Promise<number> {
  const res = await callIpamd(socket, { v: PROTOCOL_VERSION, op: 'status' });
  if (!res.ok) throw new Error(`ipamd answered ${res.error.code}: ${res.error.msg}`);
  const s = (res as { status: PoolStatus }).status;
  if (json) process.stdout.write(JSON.stringify(s, null, 2) + '\n');
  else {
    const head = s.ready ? 'ready' : `NOT READY: ${s.reason ?? 'no reason given'}`;
    const counts = `pool ${s.total} | assigned ${s.assigned} | available ${s.available} | cooling ${s.cooling}`;
    process.stdout.write(`${head} | ${counts}\n`);
  }
  return 0;
}

export const statusCommand: CtlCommand = {
  name: 'status',
  summary: "show the running daemon's pool, and why it has its size",
  usage: 'vpc-ipamctl status [--json] [--introspection 127.0.0.1:61679|unix:PATH | --socket /run/vpc-ipam/ipamd.sock]',
  async run(argv, settings) {
    const { flags, rest } = parseFlags(argv, { json: 'boolean', introspection: 'string', socket: 'string' });
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    if (flags.socket !== undefined && flags.introspection !== undefined) {
      throw new UsageError('give --introspection or --socket, not both');
    }
    if (typeof flags.socket === 'string') return fromSocket(flags.socket, flags.json === true);
    const addr = (flags.introspection as string | undefined) ?? settings.introspection ?? '127.0.0.1:61679';
    const res = await introspectionGet(addr, '/v1/pool').catch((err: Error) => {
      throw new Error(`cannot reach ipamd introspection at ${addr}: ${err.message} (is ipamd running? try --socket)`);
    });
    if (res.status !== 200) throw new Error(`${addr}/v1/pool answered ${res.status}`);
    const body = JSON.parse(res.body) as Record<string, unknown>;
    if (flags.json) process.stdout.write(JSON.stringify(body, null, 2) + '\n');
    else process.stdout.write(`${body.statusLine}\n`);
    return 0;
  },
};
