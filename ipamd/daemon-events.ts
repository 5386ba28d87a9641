/**
 * @module daemon events
 * What the daemon itself does on each reconciler event (the first subscriber: the allocator wakes before
 * anyone reports). Apart from daemon.ts, which builds and sequences the parts these handlers call.
 */
import type { DaemonView } from './daemon-view.js';
import type { ReconcilerEvents } from './pool/reconciler.js';

export function daemonEvents(x: DaemonView): ReconcilerEvents {
  const { clock, log } = x.d;
  return {
    onPlan: (plan) => x.monitor.onPlan(plan),
    onPoolChanged: () => {
      x.allocator.notify();
      // Blocks added or gone: the next start binds its restored Pods to them before the cloud answers.
      x.saveNodeCache();
    },
    onGrowthBlocked: (reason, code, until, typed) => {
      // The typed code, so a policy reacts to "subnet full" the same way on every cloud.
      x.policy.observeGrowthBlocked?.(typed ?? code, clock.now());
      x.metrics.growthBlocked(code);
      x.monitor.onGrowthBlocked(reason, code, until);
    },
    onSync: (report, inv) => {
      x.metrics.awscni?.resynced(report);
      // A CIDR block added to the VPC: SNAT must not translate it, and secondary Pods must route it by their table.
      if (inv && inv.vpcCidrs.join() !== x.node.vpcCidrs.join()) {
        log.info({ before: x.node.vpcCidrs, now: inv.vpcCidrs }, 'VPC CIDR blocks changed');
        x.setVpcCidrs(inv.vpcCidrs);
      }
      // The next start serves from this view before the cloud answers (written only when it changed).
      x.saveNodeCache();
      // The plugin may have spooled a DEL during a short socket outage: replay on every resync too.
      void x.replaySpool();
      // A failed undo or a lost create answer since the last one (free when nothing is due).
      void x.leaks.run(false);
      // Also retries host links the kernel did not show yet, and empties tables of interfaces gone.
      void x.syncHostLinks();
      // SNAT / NodePort rules and every Pod's policy rules: verified, and rewritten where wrong.
      void x.nodeNetwork?.ensure(x.node);
      void x.handler.repairPodRules();
    },
    onInterfaceAttached: () => {
      x.saveNodeCache();
      void x.syncHostLinks();
    },
    onInterfaceDeleted: () => void x.syncHostLinks(),
    onActionError: (a, err) => {
      x.metrics.error((err as { code?: string }).code ?? 'INTERNAL');
      x.metrics.awscni?.actionFailed(a);
      x.monitor.onActionError(a, err);
    },
  };
}
