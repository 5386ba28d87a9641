/**
 * @module azure emulator server
 * ARM (Microsoft.Network) and Azure IMDS on one HTTP listener on loopback,
 * over an {@link AzureWorld}, for `@azure/arm-network` pointed at it through
 * its `endpoint` option (cloud-apis.md §4.1). Routes:
 *
 * - `GET|PUT …/providers/Microsoft.Network/networkInterfaces/{nic}`, `GET …/networkInterfaces`
 * - `GET …/Microsoft.Compute/virtualMachineScaleSets/{vmss}/virtualMachines/{i}/networkInterfaces[/{nic}]`
 * - `GET|PUT …/Microsoft.Compute/virtualMachineScaleSets/{vmss}/virtualMachines/{i}` (the VM model, whose
 *   `networkProfileConfiguration` is how a uniform scale-set NIC's ipConfigurations change)
 * - `GET|PUT|PATCH …/Microsoft.Compute/virtualMachines/{vm}` (a plain VM; its NICs cannot change while it
 *   runs, `vm-views.ts`)
 * - `GET …/virtualNetworks/{vnet}`, `…/subnets`, `…/subnets/{subnet}` (`$expand=ipConfigurations`), `…/usages`
 * - `GET /subscriptions/{sub}/providers/Microsoft.{Network,Compute}/locations/{loc}/operations/{id}`
 * - `GET /metadata/instance[/compute|/network]`, `/metadata/versions` (IMDS, `imds-route.ts`)
 *
 * ARM requests need `api-version` and a bearer token (any token: this is a
 * local emulator; the check proves the SDK's credential was used). Every
 * call is first checked by the FaultInjector under its action name (see
 * {@link AZURE_ACTIONS}); throttling answers 429 with `Retry-After`.
 *
 * The listener, the body limit, the request log and the LROs' timing are the
 * emulator kit's (providers/emulator-kit/), on the injected clock.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpFront, type FrontReply, type FrontRequest } from '../../emulator-kit/http-front.js';
import { RequestLog } from '../../emulator-kit/request-log.js';
import { EMULATOR_SYSTEM_CLOCK } from '../../emulator-kit/system-clock.js';
import { ThrottledError } from '../../errors.js';
import { FaultInjector, type SimClock } from '../../sim/index.js';
import { ArmError, toArmError } from './arm-error.js';
import type { AzureWorld } from './azure-world.js';
import { LaggedImds } from './imds-lag.js';
import { imdsReply } from './imds-route.js';
import { nicJson, subnetJson, usagesJson, vnetJson } from './json-views.js';
import { NicOperations, REALISTIC_LRO, type OperationOptions } from './operations.js';
import { plainVm, updateVm, vmJson } from './vm-views.js';
import { ROUTES } from './routes.js';
import { putVmssVm, scaleSetVm, vmssVmJson } from './vmss-views.js';

export { AZURE_ACTIONS, type AzureAction } from './routes.js';

export interface AzureEmulatorOptions {
  world: AzureWorld;
  /** Default: a FaultInjector on the emulator's clock with Azure's throttling code. */
  faults?: FaultInjector;
  /** Default {@link REALISTIC_LRO}: async, 3 s operations, `Retry-After: 10`. */
  lro?: Partial<OperationOptions>;
  /** Times long-running operations (default: the wall clock). A VirtualClock makes them end when a test says. */
  clock?: SimClock;
  /** VM whose metadata IMDS serves (default: the first VM). */
  imdsVm?: string;
  /**
   * How far IMDS lags ARM, ms on `clock` (default 0): a NIC change shows in `/metadata/instance/network` this
   * long after ARM has it. Azure documents no figure; EC2's IMDS is seconds behind (aws/emulator/imds.ts).
   */
  imdsDelayMs?: number;
  /** Retry-After sent with throttling errors that carry none (default 1000 ms). */
  retryAfterMs?: number;
  /** Omit a subnet's ipConfigurations above this many (ARM's behaviour on large subnets). */
  subnetIpConfigListLimit?: number;
  /** Default true: ARM calls need `Authorization: Bearer …`. */
  requireAuth?: boolean;
  /** Fraction (0-1) of ARM calls answered 429 with Retry-After, at random: a throttling storm for demos. */
  throttleRatio?: number;
  /** Runs after every change to the world (persist it here). */
  onChange?: () => void;
  host?: string;
  port?: number;
}

export interface AzureEmulator {
  readonly url: string;
  readonly port: number;
  readonly world: AzureWorld;
  readonly faults: FaultInjector;
  readonly operations: NicOperations;
  /** Calls per action, including failed ones. */
  calls(): Record<string, number>;
  /** Every request answered, in order (newest last; the last 5000 are kept). */
  log(): RequestLogEntry[];
  /**
   * Runs after each successful read of a NIC (or of the scale-set VM model it is built from), before the
   * response is sent: a test's "second writer" goes here. `action` says which read it was.
   */
  afterNicRead: ((nicName: string, action: 'GetNetworkInterface' | 'GetVirtualMachineScaleSetVM') => void) | undefined;
  close(): Promise<void>;
}

export interface RequestLogEntry {
  /** Emulator-clock ms when the answer was sent (the wall clock unless the emulator was given a clock). */
  at: number;
  method: string;
  action: string;
  path: string;
  status: number;
  code?: string;
  /** The Retry-After header sent, if any (seconds). */
  retryAfter?: string;
}

type Reply = { status: number; body: unknown; headers?: Record<string, string> };

const MAX_BODY = 4 * 1024 * 1024;
const MAX_LOGGED = 5000;

export async function startAzureEmulator(o: AzureEmulatorOptions): Promise<AzureEmulator> {
  const world = o.world;
  const clock = o.clock ?? EMULATOR_SYSTEM_CLOCK;
  const faults = o.faults ?? new FaultInjector({ clock, provider: 'azure', throttleCode: 'TooManyRequests' });
  const retryAfterMs = o.retryAfterMs ?? 1000;
  const lro: OperationOptions = { ...REALISTIC_LRO, ...o.lro };
  const imds = new LaggedImds(world, clock, o.imdsDelayMs ?? 0, o.imdsVm);
  imds.note(); // what the VM saw before the emulator started is visible at once
  const onChange = () => {
    o.onChange?.();
    imds.note();
  };
  const operations = new NicOperations(world, faults, lro, clock, onChange);
  const requestLog = new RequestLog<RequestLogEntry>(MAX_LOGGED);
  let baseUrl = '';

  const emulator: AzureEmulator = {
    get url() {
      return baseUrl;
    },
    get port() {
      return Number(new URL(baseUrl).port);
    },
    world,
    faults,
    operations,
    calls: () => requestLog.countsByKey(),
    log: () => requestLog.list(),
    afterNicRead: undefined,
    close: async () => {
      operations.drain();
      await front.close();
    },
  };

  const count = (action: string) => requestLog.count(action);

  function scopeMatches(sub: string, rg?: string): boolean {
    return (
      sub.toLowerCase() === world.scope.subscription.toLowerCase() &&
      (rg === undefined || rg.toLowerCase() === world.scope.resourceGroup.toLowerCase())
    );
  }

  function notFound(what: string): ArmError {
    return new ArmError(404, 'NotFound', `Resource ${what} not found.`);
  }

  function findNic(name: string, vmss?: { name: string; instanceId: string }) {
    const nic = world.nic(name);
    if (!nic) return undefined;
    const vm = world.vmOf(nic);
    const isVmss = vm?.vmss !== undefined;
    if (
      vmss === undefined
        ? isVmss
        : !(
            isVmss &&
            vm!.vmss!.name.toLowerCase() === vmss.name.toLowerCase() &&
            vm!.vmss!.instanceId === vmss.instanceId
          )
    )
      return undefined;
    return nic;
  }

  function arm(route: (typeof ROUTES)[number], m: RegExpExecArray, url: URL, req: FrontRequest, body: unknown): Reply {
    const g = m.slice(1);
    if (!scopeMatches(g[0]!, route.name === 'operation' ? undefined : g[1])) throw notFound(url.pathname);
    switch (route.name) {
      case 'nic': {
        const nic = findNic(g[2]!);
        if (!nic) throw notFound(`networkInterfaces/${g[2]}`);
        if (req.method === 'GET') {
          const out = nicJson(world, world.cloud.getInterface(nic.id));
          emulator.afterNicRead?.(g[2]!, 'GetNetworkInterface');
          return { status: 200, body: out };
        }
        const ifMatch = header(req, 'if-match');
        const r = operations.put(nic, body, ifMatch);
        if (!r.operation) return { status: 200, body: nicJson(world, r.nic) };
        return { status: 200, body: nicJson(world, r.nic), headers: accepted(r.operation, 'Microsoft.Network', url) };
      }
      case 'nics':
        return {
          status: 200,
          body: {
            value: world
              .nics()
              .filter((n) => !world.vmOf(n)?.vmss)
              .map((n) => nicJson(world, n)),
          },
        };
      case 'vmssNic': {
        const nic = findNic(g[4]!, { name: g[2]!, instanceId: g[3]! });
        if (!nic) throw notFound(`virtualMachineScaleSets/${g[2]}/virtualMachines/${g[3]}/networkInterfaces/${g[4]}`);
        const out = nicJson(world, nic);
        emulator.afterNicRead?.(g[4]!, 'GetNetworkInterface');
        return { status: 200, body: out };
      }
      case 'vmssNics': {
        const list = world.nics().filter((n) => {
          const vm = world.vmOf(n);
          return vm?.vmss && vm.vmss.name.toLowerCase() === g[2]!.toLowerCase() && vm.vmss.instanceId === g[3];
        });
        return { status: 200, body: { value: list.map((n) => nicJson(world, n)) } };
      }
      case 'vnet':
      case 'subnets':
      case 'usages': {
        const vnet = world.vnet(g[2]!);
        if (!vnet) throw notFound(`virtualNetworks/${g[2]}`);
        if (route.name === 'vnet') return { status: 200, body: vnetJson(world, vnet) };
        if (route.name === 'usages') return { status: 200, body: usagesJson(world, vnet) };
        return {
          status: 200,
          body: {
            value: world
              .subnetsOf(vnet)
              .map((s) => subnetJson(world, s, { expand: false, listLimit: o.subnetIpConfigListLimit })),
          },
        };
      }
      case 'subnet': {
        const s = world.subnet(g[2]!, g[3]!);
        if (!s) throw notFound(`virtualNetworks/${g[2]}/subnets/${g[3]}`);
        const expand = (url.searchParams.get('$expand') ?? '').toLowerCase().includes('ipconfigurations');
        return { status: 200, body: subnetJson(world, s, { expand, listLimit: o.subnetIpConfigListLimit }) };
      }
      case 'vmssVm': {
        const vm = scaleSetVm(world, g[2]!, g[3]!);
        if (!vm) throw notFound(`virtualMachineScaleSets/${g[2]}/virtualMachines/${g[3]}`);
        if (req.method === 'GET') {
          const out = vmssVmJson(world, vm.nics);
          emulator.afterNicRead?.(vm.nics[0]!.tags['azure:name']!, 'GetVirtualMachineScaleSetVM');
          return { status: 200, body: out };
        }
        const r = putVmssVm(world, operations, vm.nics, body, header(req, 'if-match'));
        const after = vmssVmJson(world, world.nicsOfVm(vm.inst.id));
        if (!r?.operation) return { status: 200, body: after };
        return { status: 200, body: after, headers: accepted(r.operation, 'Microsoft.Compute', url) };
      }
      case 'vm': {
        if (req.method === 'GET') {
          const vm = plainVm(world, g[2]!);
          if (!vm) throw notFound(`virtualMachines/${g[2]}`);
          const expand = (url.searchParams.get('$expand') ?? '').toLowerCase() === 'instanceview';
          return { status: 200, body: vmJson(world, vm.inst, vm.nics, expand) };
        }
        const out = updateVm(world, g[2]!, body, header(req, 'if-match'));
        if (!out) throw notFound(`virtualMachines/${g[2]}`);
        return { status: 200, body: out };
      }
      case 'operation': {
        const op = operations.poll(g[2]!);
        const out: Record<string, unknown> = {
          id: operations.operationPath(op.id),
          name: op.id,
          status: op.status,
          startTime: op.startTime,
        };
        if (op.endTime) out.endTime = op.endTime;
        if (op.error) out.error = { code: op.error.code, message: op.error.message, details: [] };
        return { status: 200, body: out, headers: op.status === 'InProgress' ? operations.retryAfterHeader() : {} };
      }
    }
    throw notFound(url.pathname);
  }

  /** Headers of an accepted asynchronous write: where to poll, and how long to wait first (ARM sends both). */
  function accepted(opId: string, rp: 'Microsoft.Network' | 'Microsoft.Compute', url: URL): Record<string, string> {
    const opUrl = `${baseUrl}${operations.operationPath(opId, rp)}?api-version=${url.searchParams.get('api-version')}`;
    return { 'azure-asyncoperation': opUrl, ...operations.retryAfterHeader() };
  }

  function handle(req: FrontRequest): Reply {
    const rawBody = req.body(); // over the limit: 413, before anything else is looked at
    const url = new URL(req.url, 'http://127.0.0.1');
    if (/^\/metadata\/(instance|versions)(\/|$)/i.test(url.pathname)) {
      count('GetMetadata');
      faults.check('GetMetadata');
      return imdsReply(world, url, req, imds.vm(), (vm) => imds.document(vm));
    }
    const route = ROUTES.find((r) => r.method === req.method && r.re.test(url.pathname));
    if (!route) {
      const status = ['GET', 'PUT', 'PATCH'].includes(req.method) ? 404 : 405;
      throw new ArmError(status, 'NotFound', `No route for ${req.method} ${url.pathname} in this emulator.`);
    }
    count(route.action);
    if (!url.searchParams.get('api-version')) {
      const message = 'The api-version query parameter (?api-version=) is required for all requests.';
      throw new ArmError(400, 'MissingApiVersionParameter', message);
    }
    if ((o.requireAuth ?? true) && !/^Bearer \S+/.test(header(req, 'authorization') ?? '')) {
      throw new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
    }
    if (o.throttleRatio && Math.random() < o.throttleRatio) {
      throw new ThrottledError({
        provider: 'azure',
        operation: route.action,
        cloudCode: 'TooManyRequests',
        message: 'The request is being throttled.',
      });
    }
    faults.check(route.action);
    let body: unknown;
    if (req.method === 'PUT' || req.method === 'PATCH') {
      try {
        body = JSON.parse(rawBody);
      } catch {
        const message = 'The request content was invalid and could not be deserialized.';
        throw new ArmError(400, 'InvalidRequestContent', message);
      }
    }
    return arm(route, route.re.exec(url.pathname)!, url, req, body);
  }

  /** Answers one request as ARM (or IMDS) would, and logs it. */
  function serve(req: FrontRequest): FrontReply {
    let reply: Reply;
    try {
      reply = handle(req);
    } catch (err) {
      const e = toArmError(err, retryAfterMs);
      reply = { status: e.status, body: e.body(), headers: e.headers };
    }
    imds.note();
    const text = JSON.stringify(reply.body);
    const path = req.url.split('?')[0]!;
    const route = ROUTES.find((r) => r.method === req.method && r.re.test(path));
    const code = (reply.body as { error?: { code?: string } } | undefined)?.error?.code;
    const action = route?.action ?? (path.startsWith('/metadata') ? 'GetMetadata' : 'unknown');
    const retryAfter = reply.headers?.['retry-after'];
    requestLog.push({
      at: clock.now(),
      method: req.method,
      action,
      path,
      status: reply.status,
      ...(typeof code === 'string' ? { code } : {}),
      ...(retryAfter !== undefined ? { retryAfter } : {}),
    });
    const id = randomUUID();
    const headers = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'x-ms-request-id': id,
      'x-ms-correlation-request-id': id,
      ...reply.headers,
    };
    return { status: reply.status, headers, body: text };
  }

  const tooLarge = () => new ArmError(413, 'RequestEntityTooLarge', 'The request body is too large.');
  const front = await HttpFront.listen({
    host: o.host,
    port: o.port,
    maxBodyBytes: MAX_BODY,
    tooLarge,
    handle: serve,
  });
  baseUrl = `http://${front.boundHost}:${front.port}`;
  return emulator;
}

function header(req: { headers: IncomingHttpHeaders }, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
