/**
 * @module CNI chain runner (tests and benchmark)
 * Executes a network configuration list the way libcni does (spec Section
 * 3): ADD in order passing each result on as `prevResult`, CHECK in order and
 * DEL in reverse with the final ADD result, GC and STATUS to every plugin.
 * Derives each request configuration: `cniVersion` and `name` inserted,
 * `runtimeConfig` from `capabilities` ∩ capability args, `capabilities` removed.
 */
import { cniEnv, runPlugin, type PluginCommand, type PluginRun } from './plugin-process.js';

export interface ConfList {
  cniVersion: string;
  name: string;
  plugins: Array<Record<string, unknown> & { type: string; capabilities?: Record<string, boolean> }>;
}

export interface Attachment {
  containerId: string;
  netns: string;
  ifName: string;
  args?: string;
  capabilityArgs?: Record<string, unknown>;
}

export class ChainError extends Error {
  constructor(
    readonly plugin: string,
    readonly run: PluginRun,
  ) {
    super(`${plugin} failed (exit ${run.code}): ${run.stdout.trim()} ${run.stderr.trim().slice(0, 500)}`);
  }
}

export class ChainRunner {
  constructor(
    private readonly conf: ConfList,
    /** How to execute each plugin type: the vpc-ipam binary, or /usr/lib/cni/<type>. */
    private readonly commandFor: (type: string) => PluginCommand,
  ) {}

  private request(
    p: ConfList['plugins'][number],
    extra: Record<string, unknown>,
    caps?: Record<string, unknown>,
  ): Record<string, unknown> {
    const { capabilities, ...rest } = p;
    const runtimeConfig: Record<string, unknown> = {};
    for (const [k, on] of Object.entries(capabilities ?? {})) if (on && caps && k in caps) runtimeConfig[k] = caps[k];
    return {
      ...rest,
      cniVersion: this.conf.cniVersion,
      name: this.conf.name,
      ...(Object.keys(runtimeConfig).length ? { runtimeConfig } : {}),
      ...extra,
    };
  }

  private env(cmd: string, a?: Attachment): NodeJS.ProcessEnv {
    return cniEnv(
      a
        ? {
            CNI_COMMAND: cmd,
            CNI_CONTAINERID: a.containerId,
            CNI_NETNS: a.netns,
            CNI_IFNAME: a.ifName,
            CNI_ARGS: a.args,
          }
        : { CNI_COMMAND: cmd },
    );
  }

  /** Returns the final result and each plugin's run (for timing). */
  async add(a: Attachment): Promise<{ result: Record<string, unknown>; runs: PluginRun[] }> {
    let prev: Record<string, unknown> | undefined;
    const runs: PluginRun[] = [];
    for (const p of this.conf.plugins) {
      const run = await runPlugin(
        this.commandFor(p.type),
        this.env('ADD', a),
        this.request(p, prev ? { prevResult: prev } : {}, a.capabilityArgs),
      );
      runs.push(run);
      if (run.code !== 0 || !run.json) throw new ChainError(p.type, run);
      prev = run.json;
    }
    return { result: prev!, runs };
  }

  async check(a: Attachment, result: Record<string, unknown>): Promise<PluginRun[]> {
    const runs: PluginRun[] = [];
    for (const p of this.conf.plugins) {
      const run = await runPlugin(
        this.commandFor(p.type),
        this.env('CHECK', a),
        this.request(p, { prevResult: result }, a.capabilityArgs),
      );
      runs.push(run);
      if (run.code !== 0) throw new ChainError(p.type, run);
    }
    return runs;
  }

  async del(a: Attachment, result?: Record<string, unknown>): Promise<PluginRun[]> {
    const runs: PluginRun[] = [];
    for (const p of [...this.conf.plugins].reverse()) {
      const run = await runPlugin(
        this.commandFor(p.type),
        this.env('DEL', a),
        this.request(p, result ? { prevResult: result } : {}, a.capabilityArgs),
      );
      runs.push(run);
      if (run.code !== 0) throw new ChainError(p.type, run);
    }
    return runs;
  }

  /** GC continues past errors and returns every run (spec: report all errors). */
  async gc(valid: Array<{ containerID: string; ifname: string }>): Promise<PluginRun[]> {
    const runs: PluginRun[] = [];
    for (const p of this.conf.plugins)
      runs.push(
        await runPlugin(
          this.commandFor(p.type),
          this.env('GC'),
          this.request(p, { 'cni.dev/valid-attachments': valid }),
        ),
      );
    return runs;
  }

  async status(): Promise<PluginRun[]> {
    const runs: PluginRun[] = [];
    for (const p of this.conf.plugins)
      runs.push(await runPlugin(this.commandFor(p.type), this.env('STATUS'), this.request(p, {})));
    return runs;
  }
}
