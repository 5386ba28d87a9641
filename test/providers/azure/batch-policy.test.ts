/**
 * WARM_POOL_POLICY=azure-batch: CNS batch/threshold sizing (azure-gke-cilium.md
 * §A.4), its variables, and what the planner makes of its targets.
 */
import { describe, expect, it } from 'vitest';
import type { WarmTargets } from '../../../ipamd/config.js';
import type { PoolPolicy } from '../../../ipamd/pool/policy.js';
import { parseConfig } from '../../../ipamd/config.js';
import type { InterfaceView, PoolSnapshot } from '../../../ipamd/datastore/types.js';
import { AZURE_BATCH_DEFAULTS, parseAzureBatchSettings } from '../../../ipamd/config/azure-batch.js';
import { AzureBatchPolicy } from '../../../ipamd/pool/azure-batch-policy.js';
import { planPool } from '../../../ipamd/pool/planner.js';
import { ConfigError } from '../../../providers/errors.js';

/** What the reconciler does each tick: tell the policy what it plans from, then ask for the targets. */
function tick(p: PoolPolicy, s: PoolSnapshot): WarmTargets {
  p.observeTick?.(s);
  return p.targets(s);
}

function snap(
  total: number,
  assigned: number,
  opts: { cooling?: number; waiting?: number; now?: number } = {},
): PoolSnapshot {
  const cooling = opts.cooling ?? 0;
  const free = total - assigned - cooling;
  const iface: InterfaceView = {
    id: 'nic0',
    deviceIndex: 0,
    subnetId: 's',
    primary: true,
    usable: true,
    createdAt: 0,
    slotsUsed: total,
    blocks: total,
    addresses: total,
    assigned,
    cooling,
    freeBlocks: Array.from({ length: free }, (_, i) => `10.0.0.${100 + i}/32`),
    staleBlocks: [],
    staleAssigned: 0,
  };
  return {
    now: opts.now ?? 1_000_000,
    mode: 'ip',
    blockSize: 1,
    total,
    assigned,
    cooling,
    available: free,
    nextCoolingExpiry: undefined,
    interfaces: [iface],
    waiting: opts.waiting ?? 0,
  };
}

const limits = { maxInterfaces: 1, slotsPerInterface: 255, canCreateInterfaces: false };
const ctx = { shrinkIntervalMs: 0, minInterfaceLifetimeMs: 0 };

describe('settings', () => {
  it('defaults to CNS production values: batch 16, request 50 %, release 150 %, max 250', () => {
    expect(parseAzureBatchSettings({})).toEqual(AZURE_BATCH_DEFAULTS);
    expect(new AzureBatchPolicy(AZURE_BATCH_DEFAULTS).scaler(0)).toEqual({
      batch: 16,
      minFree: 8,
      maxFree: 24,
      scarce: false,
    });
  });

  it('rejects bad values with a ConfigError naming the variable', () => {
    const bad: Array<[Record<string, string>, string]> = [
      [{ AZURE_IP_BATCH_SIZE: '0' }, 'AZURE_IP_BATCH_SIZE'],
      [{ AZURE_IP_BATCH_SIZE: 'ten' }, 'AZURE_IP_BATCH_SIZE'],
      [{ AZURE_IP_BATCH_SIZE: '300' }, 'AZURE_IP_BATCH_SIZE'],
      [{ AZURE_REQUEST_THRESHOLD_PERCENT: '101' }, 'AZURE_REQUEST_THRESHOLD_PERCENT'],
      [{ AZURE_RELEASE_THRESHOLD_PERCENT: '120' }, 'AZURE_RELEASE_THRESHOLD_PERCENT'],
      [{ AZURE_MAX_IP_COUNT: '-1' }, 'AZURE_MAX_IP_COUNT'],
      [{ AZURE_SUBNET_SCARCITY_HOLD_SECONDS: '1.5' }, 'AZURE_SUBNET_SCARCITY_HOLD_SECONDS'],
    ];
    for (const [env, variable] of bad) {
      let err: unknown;
      try {
        parseAzureBatchSettings(env);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe(variable);
    }
  });

  it('is selected by WARM_POOL_POLICY=azure-batch', () => {
    expect(parseConfig({ WARM_POOL_POLICY: 'azure-batch' }).policy).toBe('azure-batch');
    expect(() => parseConfig({ WARM_POOL_POLICY: 'cns' })).toThrow(/WARM_POOL_POLICY.*azure-batch/);
  });
});

describe('decisions', () => {
  const p = () => new AzureBatchPolicy(AZURE_BATCH_DEFAULTS);

  it('requests the next batch-aligned amount when free falls below minFree', () => {
    expect(tick(p(), snap(0, 0)).minimumIps).toBe(16);
    expect(tick(p(), snap(16, 9)).minimumIps).toBe(32); // free 7 < 8
    expect(tick(p(), snap(16, 8)).minimumIps).toBe(16); // free 8: hold
  });

  it('jumps straight to the aligned target for a burst (v2 math), counting waiting ADDs and cooling addresses', () => {
    // CNS doc example: B=16, 50 %, demand 25 → 48.
    expect(tick(p(), snap(16, 16, { waiting: 9 })).minimumIps).toBe(48);
    expect(tick(p(), snap(32, 20, { cooling: 5 })).minimumIps).toBe(48);
  });

  it('releases one batch when free reaches maxFree, never below what keeps minFree', () => {
    expect(tick(p(), snap(48, 24)).minimumIps).toBe(32); // free 24 >= 24 → -16, leaves 8 free
    expect(tick(p(), snap(48, 25)).minimumIps).toBe(48); // free 23: hold
    expect(tick(p(), snap(40, 0)).minimumIps).toBe(32); // off alignment: down to 32 first
  });

  it('never oscillates: after any release the next decision is hold or another release', () => {
    const pol = p();
    for (let assigned = 0; assigned <= 100; assigned++) {
      for (let total = assigned; total <= assigned + 64; total++) {
        const r = tick(pol, snap(total, assigned)).minimumIps;
        if (r < total) expect(tick(pol, snap(r, assigned)).minimumIps).toBeLessThanOrEqual(r);
      }
    }
  });

  it('caps the request at AZURE_MAX_IP_COUNT', () => {
    const pol = new AzureBatchPolicy({ ...AZURE_BATCH_DEFAULTS, maxIpCount: 30 });
    expect(tick(pol, snap(16, 16)).minimumIps).toBe(30);
    expect(pol.explain()).toContain('capped by AZURE_MAX_IP_COUNT=30');
  });

  it('enters subnet scarcity after SubnetIsFull: batch 1, reaps down to demand + 1, then recovers', () => {
    const pol = p();
    pol.observeGrowthBlocked('CLOUD_SUBNET_FULL', 1000);
    expect(pol.scaler(1000)).toEqual({ batch: 1, minFree: 1, maxFree: 2, scarce: true });
    expect(tick(pol, snap(32, 10, { now: 2000 })).minimumIps).toBe(11);
    expect(pol.explain()).toContain('subnet scarcity');
    expect(tick(pol, snap(32, 10, { now: 1000 + AZURE_BATCH_DEFAULTS.scarcityHoldMs })).minimumIps).toBe(32);
  });

  it('drives the planner: grow to the request, release free addresses above it', () => {
    const pol = p();
    const grow = planPool(snap(16, 12), tick(pol, snap(16, 12)), limits, ctx);
    expect(grow.actions).toEqual([{ kind: 'assign', interfaceId: 'nic0', blockKind: 'ip', count: 16 }]);
    const s = snap(48, 20);
    const shrink = planPool(s, tick(pol, s), limits, ctx);
    expect(shrink.actions).toEqual([
      { kind: 'release', interfaceId: 'nic0', cidrs: s.interfaces[0]!.freeBlocks.slice(0, 16) },
    ]);
  });
});
