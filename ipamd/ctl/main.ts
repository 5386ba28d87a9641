#!/usr/bin/env node
/**
 * @module vpc-ipamctl entry point
 * Routes a verb to its command module, with what commands read from the
 * environment parsed here, once (ipamd/config/ctl.ts). Heavy commands
 * (simulate, emulate) are imported only when used.
 */
import { parseCtlSettings } from '../config/ctl.js';
import { quietAwsSdkNodeWarning } from '../util/sdk-warnings.js';
import { UsageError, type CtlCommand } from './command.js';

type Loader = () => Promise<CtlCommand>;

const COMMANDS: Record<string, Loader> = {
  emulate: async () => (await import('./commands/emulate.js')).emulateCommand,
  'max-pods': async () => (await import('./commands/max-pods.js')).maxPodsCommand,
  'gc-enis': async () => (await import('./commands/gc-enis.js')).gcEnisCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  checkpoint: async () => (await import('./commands/checkpoint.js')).checkpointCommand,
  add: async () => (await import('./commands/pod.js')).addCommand,
  del: async () => (await import('./commands/pod.js')).delCommand,
  simulate: async () => (await import('./commands/simulate.js')).simulateCommand,
  subnets: async () => (await import('./commands/subnets.js')).subnetsCommand,
  plan: async () => (await import('./commands/plan.js')).planCommand,
  'support-bundle': async () => (await import('./commands/support-bundle.js')).supportBundleCommand,
};

async function main(argv: string[]): Promise<number> {
  quietAwsSdkNodeWarning(process.env);
  const [verb, ...rest] = argv;
  if (!verb || verb === 'help' || verb === '--help' || verb === '-h') {
    const lines = await Promise.all(Object.values(COMMANDS).map(async (load) => load()));
    const verbs = lines.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n');
    process.stdout.write(
      `vpc-ipamctl: operate and plan vpc-ipam\n\n${verbs}\n\nRun "vpc-ipamctl VERB --help" for a verb's options.\n`,
    );
    return verb ? 0 : 2;
  }
  const load = COMMANDS[verb];
  if (!load) {
    process.stderr.write(`vpc-ipamctl: unknown verb "${verb}". Verbs: ${Object.keys(COMMANDS).join(', ')}\n`);
    return 2;
  }
  const cmd = await load();
  if (rest.includes('--help')) {
    process.stdout.write(`${cmd.usage}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest, parseCtlSettings(process.env));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`vpc-ipamctl ${verb}: ${err.message}\nusage: ${cmd.usage}\n`);
      return 2;
    }
    process.stderr.write(`vpc-ipamctl ${verb}: ${(err as Error).message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
