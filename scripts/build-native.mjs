// Builds native/dumpable.c into dist/native/dumpable.node (Linux, with a C compiler and Node's
// own headers: no download). Optional by design: where it cannot be built the node still starts,
// keeps core dumps free of memory (coredump_filter) and says at start that it is dumpable.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

const src = 'native/dumpable.c';
const out = 'dist/native/dumpable.node';
const include = join(dirname(dirname(process.execPath)), 'include', 'node');

function skip(why) {
  process.stderr.write(`keymesh: native/dumpable not built (${why}); the node will run dumpable\n`);
  process.exit(0);
}

if (process.platform !== 'linux') process.exit(0);
if (!existsSync(join(include, 'node_api.h'))) skip(`no Node headers at ${include}`);
if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) process.exit(0);
mkdirSync(dirname(out), { recursive: true });
try {
  execFileSync(process.env.CC ?? 'cc', ['-shared', '-fPIC', '-O2', '-I', include, src, '-o', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
} catch (e) {
  skip(e.code === 'ENOENT' ? 'no C compiler' : 'the compiler failed');
}
