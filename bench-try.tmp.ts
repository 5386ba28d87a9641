import { readFileSync } from 'node:fs';
import { parseTrace } from './ipamd/sim/trace.js';
import { simulate } from './ipamd/sim/engine.js';
const traces = process.argv[2]!.split(',');
const policies: Record<string, Record<string,string>> = {
  default: {}, tight: { WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '12' }, aws2: { WARM_IP_TARGET: '2', MINIMUM_IP_TARGET: '12' },
  pd: { ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' }, adaptive: { WARM_POOL_POLICY: 'adaptive' }, apd: { WARM_POOL_POLICY: 'adaptive', ENABLE_PREFIX_DELEGATION: 'true' },
};
const only = process.argv[3]?.split(',');
for (const tr of traces) {
  const file = tr.includes('/') ? tr : `test/bench/traces/${tr}.csv`;
  const type = tr.includes('steady') ? 'm5.4xlarge' : 'm5.large';
  const t = parseTrace(readFileSync(file, 'utf8'), file);
  for (const [name, env] of Object.entries(policies)) {
    if (only && !only.includes(name)) continue;
    const s = performance.now();
    const r = await simulate({ trace: t, instanceType: type, env });
    const x = r.result;
    console.log(`${tr.padEnd(12)} ${name.padEnd(9)} idle ${String(x.avgIdleIps).padStart(6)} peak ${x.peakIpsHeld} p50 ${x.podWaitP50Ms} p99 ${x.podWaitP99Ms} max ${x.podWaitMaxMs} waited ${x.podsWaited} failed ${x.failedAdds} calls ${x.apiCalls.total} adds ${r.adds} wall ${Math.round(performance.now()-s)}ms`);
  }
}
