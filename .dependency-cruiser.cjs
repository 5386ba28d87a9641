/**
 * The import boundaries between the top-level layers (issue 15, docs/architecture.md), checked in `npm test` by
 * test/architecture/boundaries.test.ts:
 *
 *   cni/contract/  imports nothing of ours outside itself: the wire contract ipamd and the CNI executable share,
 *                  and the leaf every layer may use (booleans as Go parses them, …)
 *   cni/           imports only cni/ (the executable knows nothing of the daemon)
 *   providers/     imports only providers/ and cni/contract/ (the cloud seam declares what it needs, a clock)
 *   ipamd/         imports ipamd/, providers/ and cni/contract/ (the daemon drives the providers); the one
 *                  exception, ipamd/api/plugin-host.ts → cni/main.ts, hosts the plugin's verbs for the shim
 *
 * and no module cycles. Tests, benchmarks and build scripts may import what they need. The tree has no
 * violation: any new one fails the test (`npm run lint:boundaries` shows it).
 */
const CONTRACT = '^cni/contract/';
module.exports = {
  forbidden: [
    {
      name: 'contract-is-a-leaf',
      comment: 'cni/contract is shared by every layer: it may import nothing of ours outside itself',
      severity: 'error',
      from: { path: CONTRACT },
      to: { path: '^(ipamd|providers|cni)/', pathNot: CONTRACT },
    },
    {
      name: 'providers-stand-alone',
      comment: 'providers/ is the cloud seam: it declares the small interfaces it needs instead of importing ipamd/',
      severity: 'error',
      from: { path: '^providers/' },
      to: { path: '^(ipamd|cni)/', pathNot: CONTRACT },
    },
    {
      name: 'cni-only-contract',
      comment: 'the CNI executable depends on the contract it shares with ipamd, never on daemon internals',
      severity: 'error',
      from: { path: '^cni/' },
      to: { path: '^(ipamd|providers)/' },
    },
    {
      name: 'ipamd-not-cni-internals',
      comment: 'ipamd shares only the contract with the CNI executable',
      severity: 'error',
      // One exception: ipamd/api/plugin-host.ts runs the plugin's own verbs (cni/main.ts runCli) for the compiled
      // shim, so a Pod's ADD and DEL behave byte for byte as the Node plugin's (docs/cni.md "The shim"). Only that
      // module, and only the plugin's entry function; what cni/main.ts imports is the plugin's business.
      from: { path: '^ipamd/', pathNot: '^ipamd/api/plugin-host\\.ts$' },
      to: { path: '^cni/', pathNot: CONTRACT },
    },
    {
      name: 'plugin-host-only-main',
      comment: 'ipamd/api/plugin-host.ts may import cni/main.ts and the contract, nothing else of cni/',
      severity: 'error',
      from: { path: '^ipamd/api/plugin-host\\.ts$' },
      to: { path: '^cni/', pathNot: [CONTRACT, '^cni/main\\.ts$'] },
    },
    {
      name: 'no-cycles',
      comment: 'a cycle makes two modules one; split out what both need',
      severity: 'error',
      from: {},
      to: { circular: true, dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|test|\\.ci)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
