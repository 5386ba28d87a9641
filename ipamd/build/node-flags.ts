/**
 * @module daemon node flags
 * The V8 limits the daemon runs with, wherever it runs in production: the
 * image's ENTRYPOINT (deploy/Dockerfile) and `npm start` (package.json)
 * spell them out, and test/deploy/image.test.ts checks both against this
 * list; the memory bench (test/bench/memory.ts) starts the daemon with it.
 * Passed as node arguments, never through NODE_OPTIONS (which a host may
 * set, and which the image keeps empty: docs/cni.md).
 *
 * - `--max-semi-space-size=1` (MiB): V8 grows each young-generation
 *   semi-space up to 16 MiB on a 64-bit host, and a daemon that allocates
 *   in bursts (start, pool fill) keeps them; 1 MiB costs more, smaller
 *   scavenges, each well under a millisecond.
 * - `--max-old-space-size=128` (MiB): the daemon's old space is ~12 MiB
 *   after start and fill; 128 MiB is a cap a node can afford, so a leak
 *   ends in a restart instead of growing until the kubelet's OOM kill.
 *
 * And one glibc setting, {@link DAEMON_ENV} (the image's ENV, `npm start`'s
 * prefix): V8 compiles in malloc'd zones that it frees after start, and
 * glibc's default (a mmap threshold that grows to 32 MiB, a 128 KiB trim
 * threshold that grows with it) keeps those pages; 20 MiB of a provider's
 * resident memory was freed malloc memory. A fixed 128 KiB mmap threshold
 * gives large blocks back to the kernel on free. Measured in docs/install.md
 * ("Daemon memory").
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--max-old-space-size=128'];

/** glibc malloc tunables for the daemon's process (see the module comment). */
export const DAEMON_ENV: Readonly<Record<string, string>> = {
  GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=131072:glibc.malloc.mmap_threshold=131072',
};
