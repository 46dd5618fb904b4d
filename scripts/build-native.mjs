// Builds native/dumpable.c into dist/native/dumpable.node (Linux, with a C compiler and Node's
// own headers: no download). Optional by design: where it cannot be built the node still starts,
// keeps core dumps free of memory (coredump_filter) and says at start that it is dumpable.
// build-if-stale.mjs calls buildNative() on every build and start; it does nothing (silently) when
// the addon is newer than its source.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Build the addon under `root` if it is missing or older than its source; never throws. */
export function buildNative(root) {
  if (process.platform !== 'linux') return;
  const src = join(root, 'native', 'dumpable.c');
  const out = join(root, 'dist', 'native', 'dumpable.node');
  const include = join(dirname(dirname(process.execPath)), 'include', 'node');
  const skip = (why) =>
    process.stderr.write(`keymesh: native/dumpable not built (${why}); the node will run dumpable\n`);
  if (!existsSync(src)) return; // a tree without the native piece (build-if-stale's own tests)
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) return;
  if (!existsSync(join(include, 'node_api.h'))) return skip(`no Node headers at ${include}`);
  mkdirSync(dirname(out), { recursive: true });
  try {
    execFileSync(process.env.CC ?? 'cc', ['-shared', '-fPIC', '-O2', '-I', include, src, '-o', out], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (e) {
    skip(e.code === 'ENOENT' ? 'no C compiler' : 'the compiler failed');
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildNative(resolve(dirname(fileURLToPath(import.meta.url)), '..'));
}
