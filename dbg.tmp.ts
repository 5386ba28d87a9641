import { readFileSync } from 'node:fs';
import { parseTrace } from './ipamd/sim/trace.js';
import { simulate } from './ipamd/sim/engine.js';
const [tr, type, ...envs] = process.argv.slice(2);
const env = Object.fromEntries(envs.map((e) => e.split('=')));
const file = tr!.includes('/') ? tr! : `test/bench/traces/${tr}.csv`;
const t = parseTrace(readFileSync(file, 'utf8'), file);
const r = await simulate({ trace: t, instanceType: type!, env: { WARM_POOL_POLICY: 'adaptive', ...env } });
console.log(JSON.stringify(r.result.apiCalls));
const addT = new Map(t.events.filter(e=>e.op==='add').map(e=>[e.pod,e.tMs]));
for (const o of r.addOutcomes) if (o.waited) {
  const at = addT.get(o.pod)!;
  const near = t.events.filter(e => e.op==='add' && Math.abs(e.tMs-at) < 8000).map(e => ((e.tMs-at)/1000).toFixed(2)).join(' ');
  const st = [...r.timeline].reverse().find(s => s.t <= at);
  console.log(`${(at/3600000).toFixed(3)}h ${o.pod} wait ${o.waitMs} state held ${st?.held} asg ${st?.assigned} cool ${st?.cooling} | adds near: ${near}`);
}
