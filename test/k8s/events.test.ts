/**
 * Events as kube-apiserver accepts them. The fake API server validates core/v1
 * Events as pkg/apis/core/validation/events.go does (fake/validation.ts), so
 * the shape ipamd and the monitor used before (a Node Event in kube-system
 * without eventTime) is a 422 here, with the real Status; the sink's Events
 * pass, in the namespace the rule allows; and what the sink cannot write is
 * counted in vpc_ipam_k8s_event_errors_total{reason} and logged once a minute.
 */
import { parseMonitorKubernetesSettings } from '../../ipamd/config/monitor-kubernetes.js';
import * as client from 'prom-client';
import type { CoreV1Event } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { microTime } from '../../ipamd/k8s/client.js';
import { registerEventErrorMetric } from '../../ipamd/k8s/event-metrics.js';
import { K8sEventSink, nodeEventNamespace, type K8sEventSinkOptions } from '../../ipamd/k8s/events.js';
import { createMonitorIntegration } from '../../ipamd/k8s/monitor-integration.js';
import { silentLogger } from '../../ipamd/observability/logger.js';
import { SystemClock } from '../../ipamd/util/clock.js';
import { nodeObject, refusal, startFakeCluster, type FakeCluster } from './helpers.js';

let c: FakeCluster;
beforeAll(async () => {
  c = await startFakeCluster();
  c.server.create('nodes', nodeObject('ev-1'));
});
afterAll(() => c.server.stop());

const clock = new SystemClock();
const nodeRef = { apiVersion: 'v1', kind: 'Node', name: 'ev-1', uid: 'ev-1' };
let seq = 0;
const legacy = (): CoreV1Event => ({
  metadata: { name: `ev-1.legacy${++seq}` },
  involvedObject: nodeRef,
  reason: 'PoolGrowthFailed',
  message: 'm',
  type: 'Warning',
  source: { component: 'vpc-ipamd', host: 'ev-1' },
  firstTimestamp: new Date(),
  lastTimestamp: new Date(),
  count: 1,
});

const events = (ns?: string) =>
  c.server.list('events', ns).filter((e) => (e.involvedObject as { name: string }).name === 'ev-1');
const causes = (r: { body: Record<string, unknown> }) =>
  (r.body.details as { causes: Array<{ field: string; reason: string }> }).causes;

describe('the fake API server validates Events like kube-apiserver (core/v1)', () => {
  it('a Node Event without eventTime only in "" or default: kube-system is 422 with the real Status', async () => {
    const r = await refusal(c.apis.core.createNamespacedEvent({ namespace: 'kube-system', body: legacy() }));
    expect(r.code).toBe(422);
    expect(r.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: expect.stringMatching(
        /^Event "ev-1\.legacy\d+" is invalid: involvedObject\.namespace: Invalid value: "": does not match/,
      ),
      reason: 'Invalid',
      details: {
        name: expect.stringMatching(/^ev-1\.legacy/),
        kind: 'Event',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message: 'Invalid value: "": does not match event.namespace',
            field: 'involvedObject.namespace',
          },
        ],
      },
      code: 422,
    });
    await expect(c.apis.core.createNamespacedEvent({ namespace: 'default', body: legacy() })).resolves.toBeDefined();
  });

  it('with eventTime: reporting fields and action required, only default/kube-system for a Node', async () => {
    const withTime = { ...legacy(), eventTime: microTime(Date.now()) };
    const r = await refusal(c.apis.core.createNamespacedEvent({ namespace: 'kube-system', body: withTime }));
    expect(r.code).toBe(422);
    expect(causes(r).map((x) => `${x.field}:${x.reason}`)).toEqual([
      'reportingComponent:FieldValueRequired',
      'reportingComponent:FieldValueInvalid',
      'reportingInstance:FieldValueRequired',
      'action:FieldValueRequired',
    ]);
    expect(String(r.body.message)).toMatch(/is invalid: \[reportingComponent: Required value, /);
    const reporting = { reportingComponent: 'vpc-ipam.io/vpc-ipamd', reportingInstance: 'ev-1' };
    const full = { ...withTime, action: 'GrowPool', ...reporting };
    const elsewhere = { ...full, metadata: { name: `ev-1.o${++seq}` } };
    const other = await refusal(c.apis.core.createNamespacedEvent({ namespace: 'vpc-ipam', body: elsewhere }));
    expect(causes(other).map((x) => x.field)).toEqual(['involvedObject.namespace']);
    const bad = { ...full, reportingComponent: 'Not A/Name!', message: 'x'.repeat(1025) };
    bad.metadata = { name: `ev-1.b${++seq}` };
    const badR = await refusal(c.apis.core.createNamespacedEvent({ namespace: 'default', body: bad }));
    expect(causes(badR).map((x) => x.field)).toEqual(['reportingComponent', 'reportingComponent', 'message']);
    await expect(c.apis.core.createNamespacedEvent({ namespace: 'kube-system', body: full })).resolves.toBeDefined();
  });

  it('decoder first: a millisecond eventTime is 400; a body namespace other than the URL is 400', async () => {
    const millis = { ...legacy(), eventTime: new Date(), action: 'A', reportingComponent: 'x', reportingInstance: 'y' };
    expect((await refusal(c.apis.core.createNamespacedEvent({ namespace: 'default', body: millis }))).code).toBe(400);
    const elsewhere = { ...legacy(), metadata: { name: `ev-1.n${++seq}`, namespace: 'kube-system' } };
    const r = await refusal(c.apis.core.createNamespacedEvent({ namespace: 'default', body: elsewhere }));
    expect(r.code).toBe(400);
    expect(r.body.message).toMatch(/^the namespace of the provided object does not match the namespace sent on/);
  });
});

describe('K8sEventSink writes Events the API server accepts', () => {
  const ev = (message: string, reason = 'PoolGrowthFailed') => ({
    type: 'Warning' as const,
    reason,
    message,
    node: 'ev-1',
    at: clock.now(),
    cloudCode: 'X',
  });
  const sinkIn = (namespace: string, instance = 'ev-1', log = silentLogger() as K8sEventSinkOptions['log']) =>
    new K8sEventSink({ apis: c.apis, clock, namespace, instance, log, minWriteIntervalMs: 0 });

  it('eventTime (six digits), action, reportingComponent/Instance; aggregation patches pass too', async () => {
    const sink = sinkIn('kube-system');
    await sink.emit(ev('first'));
    await sink.emit(ev('second'));
    expect(sink.stats).toMatchObject({ created: 1, aggregated: 1, failures: 0 });
    const [e] = events('kube-system').filter((x) => x.reason === 'PoolGrowthFailed' && x.action);
    expect(e).toMatchObject({
      metadata: expect.objectContaining({ namespace: 'kube-system' }),
      eventTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
      action: 'GrowPool',
      reportingComponent: 'vpc-ipam.io/vpc-ipamd',
      reportingInstance: 'ev-1',
      source: { component: 'vpc-ipamd', host: 'ev-1' },
      count: 2,
      message: 'second',
    });
  });

  it('a namespace the rule refuses for a Node Event becomes default; over-long fields are cut', async () => {
    expect(nodeEventNamespace('kube-system')).toBe('kube-system');
    expect(nodeEventNamespace('vpc-ipam')).toBe('default');
    const long = 'i'.repeat(200);
    const sink = sinkIn('vpc-ipam', long);
    await sink.emit(ev(`é${'m'.repeat(3000)}`, 'StaleAssignmentReleased'));
    expect(sink.stats).toMatchObject({ created: 1, failures: 0 });
    const e = events('default').find((x) => x.reason === 'StaleAssignmentReleased')!;
    expect(e.action).toBe('ReleaseAddress');
    expect(Buffer.byteLength(String(e.message))).toBeLessThanOrEqual(1024);
    expect(Buffer.byteLength(String(e.reportingInstance))).toBeLessThanOrEqual(128);
  });

  it('failures are counted by kind in vpc_ipam_k8s_event_errors_total and warned about once a minute', async () => {
    const warnings: string[] = [];
    const log = { warn: (_o: object, m?: string) => void warnings.push(m ?? ''), debug: () => {} };
    const sink = sinkIn('kube-system', 'ev-1', log);
    const registry = new client.Registry();
    registerEventErrorMetric(registry, sink);
    c.server.unavailable = true;
    try {
      const condition = { type: 'T', status: 'True' as const, reason: 'R', message: 'm' };
      for (let i = 0; i < 3; i++) await sink.emit({ ...ev(`down ${i}`, `Down${i}`), condition });
    } finally {
      c.server.unavailable = false;
    }
    c.server.resetConnections = true;
    try {
      await sink.emit(ev('reset', 'Reset'));
    } finally {
      c.server.resetConnections = false;
    }
    expect(Object.fromEntries(sink.errorsByReason)).toEqual({ server_error: 6, network: 1 });
    expect(warnings).toEqual(['could not post a Kubernetes Event', 'could not post a Kubernetes Event']);
    const text = await registry.metrics();
    expect(text).toContain('vpc_ipam_k8s_event_errors_total{reason="server_error"} 6');
    expect(text).toContain('vpc_ipam_k8s_event_errors_total{reason="network"} 1');
    // A second scrape does not count them again.
    expect(await registry.metrics()).toContain('vpc_ipam_k8s_event_errors_total{reason="server_error"} 6');
  });
});

describe("the cluster monitor's sink", () => {
  it('posts valid Events as vpc-ipam-monitor and exports its failures on the monitor registry', async () => {
    const env = { KUBECONFIG: c.kubeconfig, POD_NAMESPACE: 'kube-system', MY_POD_NAME: 'mon-ev' };
    const integ = await createMonitorIntegration({
      settings: parseMonitorKubernetesSettings(env),
      clock,
      log: silentLogger(),
    });
    const at = clock.now();
    await integ.events!.emit({ type: 'Warning', reason: 'SubnetNearlyFull', message: 'm', node: 'ev-1', at });
    expect(events('kube-system').find((x) => x.reason === 'SubnetNearlyFull')).toMatchObject({
      reportingComponent: 'vpc-ipam.io/vpc-ipam-monitor',
      reportingInstance: 'mon-ev',
      action: 'Report',
    });
    const registry = new client.Registry();
    integ.registerMetrics!(registry);
    c.server.unavailable = true;
    try {
      await integ.events!.emit({ type: 'Warning', reason: 'Other', message: 'm', node: 'ev-1', at: clock.now() });
    } finally {
      c.server.unavailable = false;
    }
    expect(await registry.metrics()).toContain('vpc_ipam_k8s_event_errors_total{reason="server_error"} 1');
    await integ.close?.();
  });
});
