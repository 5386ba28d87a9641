/**
 * @module request phases
 * Where ipamd's own handling of one CNI ADD or DEL goes, as the histogram
 * `vpc_ipam_cni_request_phase_seconds{command, phase}`:
 * - `queue`: waiting in the attachment's lane behind earlier requests for the same container;
 * - `allocate`: taking the address (an ADD may wait for the pool to grow) or releasing it;
 * - `durability`: the checkpoint write that makes the change survive a crash;
 * - `wiring`: the Pod's netlink plumbing (ADD) or teardown (DEL);
 * - `total`: the request as the socket sees it, receipt to answer.
 * On ADD durability and wiring run side by side, so total ≈ queue + allocate + max(durability, wiring).
 * The buckets are fine (0.1 ms … 1 s) because the target is a few ms: the CNI benchmark reads them.
 */
import * as client from 'prom-client';

export type RequestCommand = 'ADD' | 'DEL';
export type RequestPhase = 'queue' | 'allocate' | 'durability' | 'wiring' | 'total';

export const REQUEST_PHASE_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05,
  0.075, 0.1, 0.25, 0.5, 1,
];

/** What the API handler reports to; a no-op when absent. */
export interface PhaseRecorder {
  observe(command: RequestCommand, phase: RequestPhase, ms: number): void;
}

export class RequestPhases implements PhaseRecorder {
  private readonly histogram: client.Histogram<'command' | 'phase'>;

  constructor(registry: client.Registry) {
    this.histogram = new client.Histogram({
      name: 'vpc_ipam_cni_request_phase_seconds',
      help:
        "ipamd's handling of one CNI ADD or DEL by phase (queue, allocate, durability, wiring, total); " +
        'on ADD durability and wiring overlap.',
      labelNames: ['command', 'phase'],
      buckets: REQUEST_PHASE_BUCKETS,
      registers: [registry],
    });
  }

  observe(command: RequestCommand, phase: RequestPhase, ms: number): void {
    this.histogram.observe({ command, phase }, ms / 1000);
  }
}
