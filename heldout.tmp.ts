import { readFileSync } from 'node:fs';
import { parseTrace } from './ipamd/sim/trace.js';
import { simulate } from './ipamd/sim/engine.js';
import { checkGoal, POLICY_CASES } from './test/bench/pool-cases.js';
const dirs = process.argv.slice(2);
for (const dir of dirs) for (const name of ['ci-bursty', 'diurnal', 'rollouts', 'cron-bursts']) {
  const t = parseTrace(readFileSync(`${dir}/${name}.csv`, 'utf8'), name);
  const by: Record<string, any> = {};
  for (const pc of POLICY_CASES.filter(p => ['aws-default','tight','adaptive'].includes(p.name))) by[pc.name] = (await simulate({ trace: t, instanceType: 'm5.large', env: pc.env })).result;
  const g = checkGoal(by);
  console.log(dir, name.padEnd(12), `idle ${g.idle.ok?'ok':'MISS'} ${g.idle.adaptive}<=${g.idle.limit.toFixed(2)} p99 ${g.p99.ok?'ok':'MISS'} ${g.p99.adaptive}<=${g.p99.limit} waited ${g.waited.ok?'ok':'MISS'} ${g.waited.adaptive} vs ${g.waited.tight}`);
}
