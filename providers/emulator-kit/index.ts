/**
 * @module emulator kit
 * What the AWS, Azure and GCE emulators share, each piece on the injected clock (system clock by default): the
 * loopback HTTP front with its body limit, the request log, latency injection, the store of long-running
 * operations, the metadata timeline that makes a node's metadata lag the cloud, and the emulated node's shape.
 */
export {
  HttpFront,
  NotLoopbackError,
  type FrontReply,
  type FrontRequest,
  type HttpFrontOptions,
} from './http-front.js';
export { injectLatency, scaledLatencyMs } from './latency.js';
export { MetadataTimeline, type LagRange } from './metadata-timeline.js';
export { OperationStore, type OperationStoreOptions } from './operation-store.js';
export { RequestLog } from './request-log.js';
export { EMULATOR_SYSTEM_CLOCK, withSleep } from './system-clock.js';
export type { EmulatedNode } from './emulated-node.js';
