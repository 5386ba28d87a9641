/**
 * @module CNI verbs
 * ADD, DEL, CHECK, STATUS and GC over an injected {@link PluginDeps} (ipamd
 * client, logger, sysfs reader, offline teardown, pending-release writer), so
 * unit tests drive every branch without sockets or root. Each verb returns
 * the object to print on stdout, or undefined for "print nothing".
 */

import {
  PROTOCOL_VERSION,
  type AddRequest,
  type Allocation,
  type DelRequest,
  type Response,
} from './contract/protocol.js';
import { hostVethNameFor, hostVethSuffixes, isAttachmentNamed } from './contract/veth-name.js';
import {
  addReplyBudgetMs,
  IpamdUnavailableError,
  type IpamdClient,
  type RequestBody,
} from './contract/socket-client.js';
import type { PluginConfig } from './config.js';
import type { HostSideTarget } from './contract/host-teardown.js';
import type { CniEnv } from './env.js';
import { CniCode, CniError, fromIpamdError } from './errors.js';
import type { Logger } from './log.js';
import { pendingReleaseDir } from './contract/pending-release.js';
import {
  buildAddResult,
  expectedFromPrev,
  hostInterfaceOf,
  mergeWithPrev,
  podIpFromPrev,
  type CniResult,
} from './result.js';
import { requireAtLeast } from './version.js';

export interface PluginDeps {
  client: IpamdClient;
  log: Logger;
  /** Current MAC of a host interface (sysfs), undefined when it does not exist. */
  readHostMac(ifName: string): string | undefined;
  /** Removes the host veth and, when `ip` is known, its policy rule; used only when ipamd is unreachable. */
  offlineTearDown(t: HostSideTarget): Promise<void>;
  /** Atomically records a release for ipamd to replay; returns the file written. */
  writePendingRelease(dir: string, req: DelRequest): string;
}

export async function runCommand(env: CniEnv, cfg: PluginConfig, deps: PluginDeps): Promise<object | undefined> {
  switch (env.command) {
    case 'ADD':
      return cmdAdd(env, cfg, deps);
    case 'DEL':
      return cmdDel(env, cfg, deps);
    case 'CHECK':
      return cmdCheck(env, cfg, deps);
    case 'STATUS':
      requireAtLeast(cfg.cniVersion, '1.1.0', 'STATUS');
      return cmdStatus(cfg, deps);
    case 'GC':
      requireAtLeast(cfg.cniVersion, '1.1.0', 'GC');
      return cmdGc(cfg, deps);
    case 'VERSION':
      throw new CniError(CniCode.Internal, 'VERSION is answered before configuration parsing');
  }
}

/**
 * Calls ipamd. A garbled reply is always 103; "no answer" (unreachable or
 * timeout) is handed back for each verb to decide: ADD retries later, DEL
 * goes offline, STATUS reports not-ready.
 */
async function call(
  deps: PluginDeps,
  req: RequestBody,
  timeoutMs: number,
): Promise<{ res: Response } | { down: IpamdUnavailableError }> {
  try {
    return { res: await deps.client.call(req, timeoutMs) };
  } catch (err) {
    if (!(err instanceof IpamdUnavailableError)) throw err;
    if (err.kind === 'protocol') throw new CniError(CniCode.IpamdProtocol, err.message);
    return { down: err };
  }
}

/** {@link call}, with "no answer" turned into the verb's error. */
async function ask(
  deps: PluginDeps,
  req: RequestBody,
  timeoutMs: number,
  unavailable: (e: IpamdUnavailableError) => CniError,
): Promise<Response> {
  const r = await call(deps, req, timeoutMs);
  if ('down' in r) throw unavailable(r.down);
  return r.res;
}

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

const tryLater = (e: IpamdUnavailableError) =>
  new CniError(CniCode.TryAgainLater, e.message, 'ipamd unreachable, try again later');

function allocationOf(res: Response, op: string): Allocation | undefined {
  if (!res.ok) throw fromIpamdError(op, res.error);
  return 'allocation' in res ? res.allocation : undefined;
}

async function cmdAdd(env: CniEnv, cfg: PluginConfig, deps: PluginDeps): Promise<CniResult> {
  const pod: NonNullable<AddRequest['pod']> = {};
  if (env.args.podNamespace) pod.namespace = env.args.podNamespace;
  if (env.args.podName) pod.name = env.args.podName;
  if (env.args.podUid) pod.uid = env.args.podUid;
  const req: RequestBody = {
    op: 'add',
    network: cfg.name,
    containerId: env.containerId,
    ifName: env.ifName,
    pod,
    netns: { path: env.netns, mtu: cfg.mtu },
    waitMs: cfg.addWaitMs,
  };
  const res = await ask(deps, req, addReplyBudgetMs(cfg.addWaitMs, cfg.timeoutMs), tryLater);
  const a = allocationOf(res, 'add');
  if (!a || typeof a.ip !== 'string' || !IPV4_RE.test(a.ip))
    throw new CniError(CniCode.IpamdProtocol, 'ipamd add reply has no valid allocation');
  const hostMac = a.hostMac ?? (a.hostIf ? deps.readHostMac(a.hostIf) : undefined);
  const ours = buildAddResult({
    cniVersion: cfg.cniVersion,
    ifName: env.ifName,
    netns: env.netns,
    mtu: cfg.mtu,
    dns: cfg.dns,
    allocation: a,
    ...(hostMac ? { hostMac } : {}),
  });
  deps.log.info('added', {
    ip: a.ip,
    hostIf: a.hostIf,
    interfaceId: a.interfaceId,
    routeTable: a.routeTable,
    existing: 'existing' in res ? res.existing : undefined,
  });
  if (cfg.prevResultDropped) {
    deps.log.warn('prevResult keys outside the CNI spec dropped from the result', { dropped: cfg.prevResultDropped });
  }
  return cfg.prevResult ? mergeWithPrev(cfg.prevResult, ours) : ours;
}

/**
 * Idempotent: unknown attachment, missing netns and repeated DELs all succeed.
 * When ipamd cannot be reached, the plugin removes the host side itself and
 * leaves a pending-release note for ipamd; only failing to write that note is
 * an error (5), so the runtime retries instead of the address leaking.
 */
async function cmdDel(env: CniEnv, cfg: PluginConfig, deps: PluginDeps): Promise<undefined> {
  const req: DelRequest = {
    v: PROTOCOL_VERSION,
    op: 'del',
    network: cfg.name,
    containerId: env.containerId,
    ifName: env.ifName,
  };
  if (env.netns) req.netns = { path: env.netns };
  const { v: _v, ...body } = req;
  const r = await call(deps, body, cfg.timeoutMs);
  if ('down' in r) {
    await offlineDel(env, cfg, deps, req, r.down);
    return undefined;
  }
  const res = r.res;
  if (!res.ok) {
    if (res.error.code === 'NOT_FOUND') return undefined;
    throw fromIpamdError('del', res.error);
  }
  deps.log.info('deleted', { released: 'released' in res ? res.released : undefined });
  return undefined;
}

async function offlineDel(
  env: CniEnv,
  cfg: PluginConfig,
  deps: PluginDeps,
  req: DelRequest,
  why: IpamdUnavailableError,
): Promise<void> {
  const pod = { namespace: env.args.podNamespace, name: env.args.podName };
  const key = { containerId: env.containerId, ifName: env.ifName, pod };
  // ADD's own answer names the veth, whatever the prefix was then; else the name under the conflist's prefix.
  const hostIf = hostInterfaceOf(cfg.prevResult)?.name ?? hostVethNameFor(key, { prefix: cfg.vethPrefix });
  if (cfg.prevResultIgnored) {
    deps.log.warn('prevResult unusable, ignored: the Pod address is left to ipamd', { why: cfg.prevResultIgnored });
  }
  const ip = podIpFromPrev(cfg.prevResult, env.ifName);
  deps.log.warn('ipamd unreachable on DEL: tearing down the host side and recording a pending release', {
    reason: why.message,
    hostIf,
    ip,
  });
  try {
    await deps.offlineTearDown({
      hostIf,
      ...(ip ? { ip } : {}),
      ...(isAttachmentNamed(hostIf, env.containerId, env.ifName) ? {} : { podNamed: true }),
      formerSuffixes: hostVethSuffixes(key),
    });
  } catch (err) {
    // ipamd's replay of the note tears down again, so this is not fatal.
    deps.log.warn('offline teardown incomplete', { error: (err as Error).message });
  }
  try {
    const file = deps.writePendingRelease(pendingReleaseDir(cfg.ipamdSocket), req);
    deps.log.info('pending release recorded', { file });
  } catch (err) {
    throw new CniError(
      CniCode.IoFailure,
      `ipamd unreachable and the pending release could not be recorded: ${(err as Error).message}`,
    );
  }
}

/** Compares prevResult with ipamd's record and the kernel (ipamd runs the plumber's check). */
async function cmdCheck(env: CniEnv, cfg: PluginConfig, deps: PluginDeps): Promise<undefined> {
  const want = expectedFromPrev(cfg.prevResult, env.ifName, env.netns);
  const res = await ask(
    deps,
    {
      op: 'check',
      network: cfg.name,
      containerId: env.containerId,
      ifName: env.ifName,
      netns: { path: env.netns, mtu: cfg.mtu },
    },
    cfg.timeoutMs,
    tryLater,
  );
  const a = allocationOf(res, 'check');
  const problems: string[] = [];
  if (a && a.ip !== want.ip) problems.push(`ipamd holds ${a.ip}, prevResult says ${want.ip}`);
  if (a?.podMac && want.podMac && a.podMac !== want.podMac)
    problems.push(`Pod MAC ${a.podMac} != prevResult ${want.podMac}`);
  if (want.hostIf) {
    const mac = deps.readHostMac(want.hostIf);
    if (!mac) problems.push(`host veth ${want.hostIf} missing`);
    else if (want.hostMac && mac !== want.hostMac)
      problems.push(`host veth ${want.hostIf} MAC ${mac} != prevResult ${want.hostMac}`);
  }
  if (problems.length) throw new CniError(CniCode.CheckFailed, problems.join('; '));
  return undefined;
}

/** 1.1.0 STATUS: ready only if ipamd answers and says its pool can serve an ADD. */
async function cmdStatus(cfg: PluginConfig, deps: PluginDeps): Promise<undefined> {
  const notReady = (details: string) => new CniError(CniCode.NotAvailable, details);
  const res = await ask(deps, { op: 'status' }, cfg.timeoutMs, (e) => notReady(e.message));
  if (!res.ok) throw notReady(`ipamd status: ${res.error.code}: ${res.error.msg}`);
  if (!('status' in res)) throw new CniError(CniCode.IpamdProtocol, 'ipamd status reply has no status');
  const s = res.status;
  if (!s.ready)
    throw notReady(
      `ipamd not ready: ${s.reason ?? 'no reason given'} ` +
        `(available ${s.available}, assigned ${s.assigned}, total ${s.total})`,
    );
  return undefined;
}

/** 1.1.0 GC: everything of this network not in `cni.dev/valid-attachments` is released by ipamd. */
async function cmdGc(cfg: PluginConfig, deps: PluginDeps): Promise<undefined> {
  // parseValidAttachments refused the whole GC for one malformed entry (ipamd's rules): dropping it
  // would release a live Pod's address.
  const valid = cfg.validAttachments ?? [];
  const res = await ask(deps, { op: 'gc', network: cfg.name, valid }, cfg.timeoutMs, tryLater);
  if (!res.ok) throw fromIpamdError('gc', res.error);
  deps.log.info('gc done', { valid: valid.length, released: 'released' in res ? res.released : undefined });
  return undefined;
}
