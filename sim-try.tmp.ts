import { readFileSync } from 'node:fs';
import { parseTrace } from './ipamd/sim/trace.js';
import { simulate } from './ipamd/sim/engine.js';
const [file, type, ...envs] = process.argv.slice(2);
const env = Object.fromEntries(envs.map((e) => e.split('=')));
const t = parseTrace(readFileSync(file!, 'utf8'), file);
const s = performance.now();
const r = await simulate({ trace: t, instanceType: type!, env });
console.log(JSON.stringify(r.result), 'startup', r.startupMs, 'wall', Math.round(performance.now() - s), 'ms', r.policyExplain);
