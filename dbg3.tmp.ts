import { readFileSync } from 'node:fs';
import { parseTrace } from './ipamd/sim/trace.js';
import { simulate } from './ipamd/sim/engine.js';
import type { AdaptivePolicy } from './ipamd/pool/adaptive-policy.js';
const [tr, type] = process.argv.slice(2);
const file = `test/bench/traces/${tr}.csv`;
const t = parseTrace(readFileSync(file, 'utf8'), file);
let nextPrint = 0;
await simulate({ trace: t, instanceType: type!, env: { WARM_POOL_POLICY: 'adaptive' }, observe: (d, tm) => {
  if (tm < nextPrint) return; nextPrint = tm + 15 * 60_000;
  const p = d.policy as AdaptivePolicy; const s = d.snapshot(); p.targets(s);
  console.log((tm / 3600000).toFixed(2) + 'h', 'idle', s.total - s.assigned, p.explain());
}});
