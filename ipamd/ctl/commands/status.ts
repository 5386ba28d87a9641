/**
 * @module ctl status
 * `vpc-ipamctl status [--json] [--introspection HOST:PORT]`: the pool as the
 * running daemon reports it, with the reason for its size.
 */
import { parseFlags, type CtlCommand } from '../command.js';

export const statusCommand: CtlCommand = {
  name: 'status',
  summary: 'show the running daemon\'s pool, and why it has its size',
  usage: 'vpc-ipamctl status [--json] [--introspection 127.0.0.1:61679]',
  async run(argv, env) {
    const { flags } = parseFlags(argv, { json: 'boolean', introspection: 'string' });
    const addr = (flags.introspection as string | undefined) ?? env.INTROSPECTION_BIND_ADDRESS ?? '127.0.0.1:61679';
    const res = await fetch(`http://${addr}/v1/pool`).catch((err: Error) => {
      throw new Error(`cannot reach ipamd introspection at ${addr}: ${err.message} (is ipamd running?)`);
    });
    const body = (await res.json()) as Record<string, unknown>;
    if (flags.json) process.stdout.write(JSON.stringify(body, null, 2) + '\n');
    else process.stdout.write(`${body.statusLine}\n`);
    return 0;
  },
};
