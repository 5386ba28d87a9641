import { readFileSync } from 'node:fs';
import { parseTrace } from './ipamd/sim/trace.js';
import { simulate } from './ipamd/sim/engine.js';
import type { AdaptivePolicy } from './ipamd/pool/adaptive-policy.js';
const [tr, type, ...envs] = process.argv.slice(2);
const env = Object.fromEntries(envs.map((e) => e.split('=')));
const file = tr!.includes('/') ? tr! : `test/bench/traces/${tr}.csv`;
const t = parseTrace(readFileSync(file, 'utf8'), file);
let last = 0; const acc: Record<string, number> = {};
const r = await simulate({ trace: t, instanceType: type!, env: { WARM_POOL_POLICY: 'adaptive', ...env }, observe: (d, tm) => {
  const p = d.policy as AdaptivePolicy; const s = d.snapshot(); const dec = p.decide(s);
  const dt = tm - last; last = tm;
  for (const [k, v] of Object.entries({ warm: dec.warm, rate: dec.rate, burst: dec.burst, sched: dec.scheduled, avail: s.available, cooling: s.cooling, idle: s.total - s.assigned })) acc[k] = (acc[k] ?? 0) + v * dt;
}});
console.log(JSON.stringify(r.result.apiCalls.total), r.result.avgIdleIps, Object.entries(acc).map(([k, v]) => `${k} ${(v / last).toFixed(2)}`).join(' '));
