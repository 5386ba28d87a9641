/**
 * @module daemon bundle build (npm run build:daemon)
 * esbuild bundles the daemon (ipamd/main.ts) into ESM chunks under
 * dist/bundle/, so a node loads only what the selected provider and the
 * features turned on use, and unused SDK code is tree-shaken away instead
 * of being parsed and compiled at start (docs/install.md, "Daemon memory").
 *
 * Layout, chosen so the daemon's few runtime-relative paths keep working:
 *   dist/bundle/ipamd/main.js                  the entry (`vpc-ipamd`)
 *   dist/bundle/ipamd/dev-start.js             `npm start`'s runner (ipamd/dev-start.ts)
 *   dist/bundle/ipamd/netlink-worker.js        the plumbing worker thread, next to the chunk that starts it
 *                                             (netlink-plumber.ts: `new URL('./netlink-worker.js', import.meta.url)`)
 *   dist/bundle/ipamd/chunk-*.js               lazy chunks: one per `await import()` (provider setup, k8s, monitor)
 *   dist/bundle/k8s/monitor-integration.js     what the monitor loads by a variable specifier
 *                                             (monitor/integration.ts: '../k8s/monitor-integration.js')
 *
 * Kept external (loaded from node_modules at run time): native addons
 * (netlink, koffi) and @kubernetes/client-node (lazy, only with
 * MY_NODE_NAME). Everything else is bundled, preferring each package's
 * ESM build (`module` field) because only ESM can be tree-shaken.
 *
 * The GCP Compute SDK is bundled with two substitutions (gcp-protos.ts):
 * its 11.7 MB protos.json becomes the part our five calls reach, and
 * `google-gax` resolves to its REST-only `google-gax/fallback` build, so
 * neither gRPC nor the descriptors of the other ~1,000 Compute methods are
 * loaded. Azure's network client keeps 3 of its operation groups
 * (azureClientsPlugin) and the mappers they reach (azure-mappers.ts).
 * Build code may exec nothing and read no environment; the CLI is at the bottom.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { azureMappersPlugin } from './azure-mappers.js';
import { writePrunedComputeProtos } from './gcp-protos.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUNDLE_DIR = path.join(root, 'dist/bundle');
export const BUNDLE_MAIN = path.join(BUNDLE_DIR, 'ipamd/main.js');

/** Loaded from node_modules at run time (see the module comment). */
export const EXTERNAL = ['netlink', 'koffi', '@kubernetes/client-node'];

/**
 * CJS code inside an ESM bundle still calls require() and reads
 * __dirname; give it both, relative to the chunk's own file.
 */
const BANNER = [
  "import { createRequire as __vpcIpamCreateRequire } from 'node:module';",
  "import { fileURLToPath as __vpcIpamFileURLToPath } from 'node:url';",
  'const require = __vpcIpamCreateRequire(import.meta.url);',
  'const __filename = __vpcIpamFileURLToPath(import.meta.url);',
  "const __dirname = __vpcIpamFileURLToPath(new URL('.', import.meta.url));",
].join('\n');

/** Redirects the Compute clients' protos.json and `google-gax` (see the module comment). */
function gcpPlugin(prunedProtos: string): esbuild.Plugin {
  const req = createRequire(import.meta.url);
  const fallback = req.resolve('google-gax/fallback');
  return {
    name: 'vpc-ipam-gcp',
    setup(b) {
      b.onResolve({ filter: /protos\/protos\.json$/ }, (a) =>
        a.importer.includes(`${path.sep}@google-cloud${path.sep}compute${path.sep}`)
          ? { path: prunedProtos }
          : undefined,
      );
      // The clients take `.fallback` of what they require: the fallback module, wrapped so that works.
      b.onResolve({ filter: /^google-gax$/ }, (a) =>
        a.importer.includes(`${path.sep}@google-cloud${path.sep}compute${path.sep}`)
          ? { path: 'gax-rest-only', namespace: 'vpc-ipam' }
          : undefined,
      );
      b.onLoad({ filter: /^gax-rest-only$/, namespace: 'vpc-ipam' }, () => ({
        contents: [
          `const f = require(${JSON.stringify(fallback)});`,
          // The two members the clients take from the package index itself.
          "const { decodeAnyProtosInArray } = require('./util');",
          'module.exports = { ...f, fallback: f, decodeAnyProtosInArray,',
          "  loggingUtils: require('google-logging-utils') };",
        ].join('\n'),
        loader: 'js',
        resolveDir: path.dirname(fallback),
      }));
    },
  };
}

/**
 * The EC2 client's schemas (schemas_0.js, 1.3 MB: one array per shape of all ~750 operations) use
 * computed keys such as `{ [_eQN]: 'Min' }`, which esbuild must assume may have side effects, so
 * it keeps every schema. Writing the keys out (`{ "eQN-value": 'Min' }`, the same object) lets it
 * drop the shapes of the operations the daemon never sends.
 */
function ec2SchemasPlugin(): esbuild.Plugin {
  return {
    name: 'vpc-ipam-ec2-schemas',
    setup(b) {
      b.onLoad({ filter: /@aws-sdk[\\/]client-ec2[\\/]dist-es[\\/]schemas[\\/][^\\/]+\.js$/ }, (a) => {
        const src = fs.readFileSync(a.path, 'utf8');
        const names = new Map<string, string>();
        for (const m of src.matchAll(/^const (_\w+) = ("[^"\\]*");$/gm)) names.set(m[1]!, m[2]!);
        const contents = src.replace(/\[(_\w+)\]:/g, (all, k: string) => (names.has(k) ? `${names.get(k)}:` : all));
        return { contents, loader: 'js' };
      });
    },
  };
}

/** The operation groups of NetworkManagementClient that providers/azure/arm-client.ts uses. */
export const AZURE_NETWORK_OPERATION_GROUPS = ['networkInterfaces', 'subnets', 'virtualNetworks'];
/** The operation groups of ComputeManagementClient it uses (scale-set NICs, loaded on AKS-style nodes only). */
export const AZURE_COMPUTE_OPERATION_GROUPS = ['virtualMachineScaleSetVMs'];

/**
 * The ARM clients' constructors build every operation group (`this.x = new XImpl(this)`: 147 in
 * NetworkManagementClient, 54 in ComputeManagementClient), so none can be tree-shaken; the daemon uses four.
 * Dropping the other assignments lets esbuild drop their classes and operation specs (the Mappers stay: the
 * serializer looks them up by name). A group used without being listed is undefined: every Azure test fails at
 * once for the network groups, and test/deploy/image.test.ts checks the lists against arm-client.ts's uses.
 */
function azureClientsPlugin(): esbuild.Plugin {
  const clients = [
    {
      file: /@azure[\\/]arm-network[\\/]dist[\\/]esm[\\/]networkManagementClient\.js$/,
      keep: AZURE_NETWORK_OPERATION_GROUPS,
    },
    {
      file: /@azure[\\/]arm-compute[\\/]dist[\\/]esm[\\/]computeManagementClient\.js$/,
      keep: AZURE_COMPUTE_OPERATION_GROUPS,
    },
  ];
  return {
    name: 'vpc-ipam-azure-clients',
    setup(b) {
      for (const c of clients) {
        b.onLoad({ filter: c.file }, (a) => {
          const src = fs.readFileSync(a.path, 'utf8');
          const keep = new Set(c.keep);
          const contents = src.replace(/^\s*this\.(\w+) = new \w+Impl\(this\);$/gm, (line, g: string) =>
            keep.has(g) ? line : '',
          );
          return { contents, loader: 'js' };
        });
      }
    },
  };
}

export interface BundleResult {
  outDir: string;
  /** Bytes per output file, relative to outDir. */
  files: Record<string, number>;
  /** esbuild's metafile (inputs, outputs, imports): what the bundle holds and what it loads at run time. */
  metafile: esbuild.Metafile;
}

export async function buildDaemonBundle(outDir = BUNDLE_DIR, quiet = false): Promise<BundleResult> {
  const work = fs.mkdtempSync(path.join(path.dirname(outDir), '.bundle-'));
  try {
    const prunedProtos = writePrunedComputeProtos(path.join(work, 'compute-protos.json'));
    const result = await esbuild.build({
      entryPoints: [
        { in: path.join(root, 'ipamd/main.ts'), out: 'ipamd/main' },
        { in: path.join(root, 'ipamd/dev-start.ts'), out: 'ipamd/dev-start' },
        { in: path.join(root, 'ipamd/netns/netlink-worker.ts'), out: 'ipamd/netlink-worker' },
        { in: path.join(root, 'ipamd/k8s/monitor-integration.ts'), out: 'k8s/monitor-integration' },
      ],
      absWorkingDir: root,
      outdir: path.join(work, 'out'),
      chunkNames: 'ipamd/chunk-[hash]',
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      mainFields: ['module', 'main'],
      external: EXTERNAL,
      banner: { js: BANNER },
      plugins: [
        gcpPlugin(prunedProtos),
        ec2SchemasPlugin(),
        azureClientsPlugin(),
        azureMappersPlugin(AZURE_NETWORK_OPERATION_GROUPS),
      ],
      minifySyntax: true,
      minifyWhitespace: true,
      legalComments: 'none',
      sourcemap: false,
      metafile: true,
      logLevel: 'error',
    });
    // Swap in whole: a daemon started during a rebuild never sees half a bundle's chunks.
    const staged = path.join(work, 'out');
    fs.rmSync(outDir, { recursive: true, force: true });
    fs.renameSync(staged, outDir);
    const files: Record<string, number> = {};
    for (const [f, o] of Object.entries(result.metafile.outputs))
      files[path.relative(staged, path.resolve(root, f))] = o.bytes;
    if (!quiet) {
      const total = Object.values(files).reduce((a, b) => a + b, 0);
      const main = files['ipamd/main.js'] ?? 0;
      console.log(
        `bundle: ${path.relative(root, outDir)} (${Object.keys(files).length} files, ` +
          `${(total / 1024).toFixed(0)} KiB; main ${(main / 1024).toFixed(0)} KiB)`,
      );
    }
    return { outDir, files, metafile: result.metafile };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildDaemonBundle().catch((err: unknown) => {
    console.error(`build:daemon: ${(err as Error).message}`);
    process.exit(1);
  });
}
