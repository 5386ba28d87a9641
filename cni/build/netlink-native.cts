/**
 * @module netlink native addon loader (bundle shim)
 * Stands in for `node-gyp-build` inside the plugin bundle (esbuild aliases it).
 * netlink@0.3.0 needs a small N-API addon. In the single executable it is a
 * SEA asset: copied into a fresh 0700 temp directory, dlopen'ed, deleted. In
 * the plain bundle it is loaded from node_modules as usual.
 */

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import * as sea from 'node:sea'; // Node >= 20.12; isSea() is false outside a SEA binary

const NETLINK_ASSET = 'netlink.node';

function load(dir: string): unknown {
  if (sea.isSea()) {
    const bytes = Buffer.from(sea.getRawAsset(NETLINK_ASSET) as ArrayBuffer); // no encoding asked: bytes
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vpc-ipam-netlink-'));
    const file = path.join(tmp, NETLINK_ASSET);
    try {
      fs.writeFileSync(file, bytes, { mode: 0o500, flag: 'wx' });
      const mod = { exports: {} as unknown };
      process.dlopen(mod, file);
      return mod.exports;
    } finally {
      // The mapping survives unlinking; nothing is left on disk.
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  // Not bundled into a SEA: resolve the real loader at run time, not at bundle time.
  const req = createRequire(__filename);
  const gypBuild = req('node-gyp-build') as (d: string) => unknown;
  return gypBuild(path.dirname(req.resolve('netlink/package.json')) ?? dir);
}

export = load;
